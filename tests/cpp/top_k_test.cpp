// TopK against a full sort of every offer: the k smallest (distance, id) pairs, ties broken by
// the smaller id, whatever the order of the offers (many ties and repeated distances).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "pcct/knn/top_k.hpp"

namespace pcct {
namespace {

TEST(TopK, KeepsTheKSmallestPairsInOrder) {
  std::mt19937_64 g(11);
  for (int k : {1, 2, 3, 7, 50, 150}) {
    for (int trial = 0; trial < 30; ++trial) {
      const int n = static_cast<int>(g() % 400);
      const int values = trial % 3 == 0 ? 5 : 1000;  // few distinct distances: many ties
      std::vector<Neighbour> offers(n);
      for (int i = 0; i < n; ++i) offers[i] = {static_cast<double>(g() % values) * 0.25, static_cast<index_t>(i)};
      std::shuffle(offers.begin(), offers.end(), g);
      std::vector<Neighbour> storage(k);
      TopK top(storage.data(), k);
      int entered = 0;
      for (const Neighbour& o : offers) entered += top.push(o.dist, o.id);
      EXPECT_EQ(top.size(), std::min(k, n));
      EXPECT_GE(entered, std::min(k, n));
      std::vector<index_t> ids(k);
      std::vector<double> dists(k);
      top.write_sorted(ids.data(), dists.data());
      std::vector<Neighbour> want = offers;
      std::sort(want.begin(), want.end());
      for (int j = 0; j < k; ++j) {
        if (j < n) {
          EXPECT_EQ(ids[j], want[j].id) << "k=" << k << " n=" << n << " j=" << j;
          EXPECT_EQ(dists[j], want[j].dist);
        } else {
          EXPECT_EQ(ids[j], -1);
          EXPECT_EQ(dists[j], std::numeric_limits<double>::infinity());
        }
      }
      EXPECT_EQ(top.size(), 0);  // write_sorted empties it for reuse
    }
  }
}

}  // namespace
}  // namespace pcct
