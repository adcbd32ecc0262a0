// Brute-force k-NN against a naive sort of every pairwise distance (same distance function,
// so the comparison is exact), across metrics, modes, sizes and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "pcct/knn/brute_force.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

void expect_same(const KnnResult& a, const KnnResult& b, const std::string& what) {
  test::expect_same(a, b, what, "brute");
}

std::shared_ptr<ResidualModel> residual_model(const std::vector<double>& x, index_t n, int d, int m) {
  const auto ind = test::first_ids(n, m, 3);
  Kernel k;
  k.type = KernelType::matern32;
  k.lengthscale = {0.7};
  return test::residual_model(x, n, d, k, ind);
}

template <class Metric>
void check_against_naive(const Metric& metric, const std::vector<index_t>& qids, int k, bool predecessor,
                         const std::string& what) {
  const auto& s = metric.space();
  BruteForceIndex<Metric> index(metric);
  for (int threads : {1, 2, 3}) {
    KnnParams p{k, predecessor, threads};
    const auto got = index.knn(QuerySet::by_ids(IdView{qids.data(), static_cast<index_t>(qids.size()), 1}), p);
    const auto want = test::naive_knn(s.size(), qids, k, predecessor,
                                      [&](size_t q, index_t j) { return s.distance(s, qids[q], j); });
    expect_same(got, want, what + " threads=" + std::to_string(threads));
  }
}

TEST(BruteForce, EuclideanMatchesNaive) {
  for (index_t n : {1, 2, 17, 300}) {
    const auto x = test::normal_matrix(n, 3, 20 + n);
    EuclideanMetric metric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3)));
    // n = 300: every point is a query, so queries span three tiles of 128.
    std::vector<index_t> q = n == 300 ? test::first_ids(n, n) : test::first_ids(n, std::min<index_t>(n, 40), 5);
    for (int k : {1, 5, static_cast<int>(n)}) {
      if (k > n) continue;
      check_against_naive(metric, q, k, false, "euclid n=" + std::to_string(n) + " k=" + std::to_string(k));
      check_against_naive(metric, q, k, true, "euclid pred n=" + std::to_string(n));
    }
  }
}

TEST(BruteForce, EuclideanDuplicatesAndTiesBreakBySmallerId) {
  const index_t n = 64;
  std::vector<double> x(n * 2);
  for (index_t i = 0; i < n; ++i) { x[2 * i] = static_cast<double>(i % 4); x[2 * i + 1] = 0; }  // 16 copies of 4 points
  EuclideanMetric metric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)));
  std::vector<index_t> q = test::first_ids(n, n);
  check_against_naive(metric, q, 20, false, "dups");
  check_against_naive(metric, q, 20, true, "dups pred");
  BruteForceIndex<EuclideanMetric> index(metric);
  const auto r = index.knn(QuerySet::all_points(), KnnParams{16, false, 2});
  for (int j = 0; j < 16; ++j) EXPECT_EQ(r.ids[5 * 16 + j], 1 + 4 * j);  // point 5 sits at x=1: ids 1, 5, 9, ...
}

TEST(BruteForce, ResidualMatchesNaive) {
  for (index_t n : {1, 5, 64, 400}) {
    const auto x = test::normal_matrix(n, 2, 40 + n);
    ResidualMetric metric(residual_model(x, n, 2, std::min<int>(n, 16)));
    // n = 400: 300 queries, three query tiles (predecessor limits with q0 > 0 included).
    std::vector<index_t> q = test::first_ids(n, std::min<index_t>(n, n == 400 ? 300 : 50), 7);
    for (int k : {1, 7, static_cast<int>(n)}) {
      if (k > n) continue;
      check_against_naive(metric, q, k, false, "resid n=" + std::to_string(n));
      check_against_naive(metric, q, k, true, "resid pred n=" + std::to_string(n));
    }
  }
}

TEST(BruteForce, LargeKShrinksTheQueryTile) {
  // k = 4,500: the heaps of a full tile of 128 queries would exceed the budget, so the tile
  // shrinks (to 116 queries); 300 queries still span several tiles.
  const index_t n = 5000;
  const auto x = test::normal_matrix(n, 2, 29);
  EuclideanMetric metric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)));
  const std::vector<index_t> q = test::first_ids(n, 300, 13);
  check_against_naive(metric, q, 4500, false, "large k");
  check_against_naive(metric, q, 4500, true, "large k pred");
}

TEST(BruteForce, PredecessorPadsShortRows) {
  const index_t n = 10;
  const auto x = test::normal_matrix(n, 2, 3);
  ResidualMetric metric(residual_model(x, n, 2, 4));
  BruteForceIndex<ResidualMetric> index(metric);
  const auto r = index.knn(QuerySet::all_points(), KnnParams{3, true, 1});
  EXPECT_EQ(r.ids[0], -1);  // point 0 has no predecessors
  EXPECT_TRUE(std::isinf(r.distances[0]));
  EXPECT_EQ(r.ids[1 * 3 + 0], 0);
  EXPECT_EQ(r.ids[1 * 3 + 1], -1);
  for (index_t i = 3; i < n; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_LT(r.ids[i * 3 + j], i);
}

TEST(BruteForce, NewCoordinateQueries) {
  const index_t n = 200;
  const auto x = test::normal_matrix(n, 3, 8);
  auto model = residual_model(x, n, 3, 20);
  ResidualMetric metric(model);
  BruteForceIndex<ResidualMetric> index(metric);
  // Querying dataset coordinates as new points finds the point itself first.
  const auto r = index.knn(QuerySet::by_coords(MatrixView::row_major(x.data() + 3 * 10, 4, 3)), KnnParams{5, false, 2});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.ids[i * 5], 10 + i);
    EXPECT_LT(r.distances[i * 5], 1e-5);
  }
  EuclideanMetric em(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3)));
  BruteForceIndex<EuclideanMetric> ei(em);
  const auto e = ei.knn(QuerySet::by_coords(MatrixView::row_major(x.data() + 3 * 10, 4, 3)), KnnParams{1, false, 2});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(e.ids[i], 10 + i);
    EXPECT_EQ(e.distances[i], 0.0);
  }
}

TEST(BruteForce, BadParametersAreRejected) {
  const index_t n = 30;
  const auto x = test::normal_matrix(n, 2, 9);
  EuclideanMetric metric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)));
  BruteForceIndex<EuclideanMetric> index(metric);
  EXPECT_THROW(index.knn(QuerySet::all_points(), KnnParams{0, false, 1}), std::invalid_argument);
  EXPECT_THROW(index.knn(QuerySet::all_points(), KnnParams{31, false, 1}), std::invalid_argument);
  std::vector<index_t> q = {3, 30};
  EXPECT_THROW(index.knn(QuerySet::by_ids(IdView{q.data(), 2, 1}), KnnParams{2, false, 1}), std::out_of_range);
  EXPECT_THROW(index.knn(QuerySet::by_coords(MatrixView::row_major(x.data(), 2, 2)), KnnParams{2, true, 1}),
               std::invalid_argument);
  EXPECT_THROW(index.knn(QuerySet::by_coords(MatrixView::row_major(x.data(), 2, 1)), KnnParams{2, false, 1}),
               std::invalid_argument);
}

}  // namespace
}  // namespace pcct

namespace pcct {
namespace {

// brute_force_search over rows that are not in id order (as the cover tree's "auto" uses it):
// with the id -> row map (scan in id order, stop at the query id) and without it (scan every
// row, filter by id), against the index over the same points in id order.
template <class Metric>
void check_permuted_rows(const Metric& metric, const std::string& what) {
  const auto& s = metric.space();
  const index_t n = s.size();
  std::vector<index_t> order(n);
  for (index_t r = 0; r < n; ++r) order[r] = (r * 7919) % n;  // n is not a multiple of 7919
  const auto perm = s.permuted(order);
  std::vector<index_t> row_of_id(n), qrows(n), qids(n);
  for (index_t r = 0; r < n; ++r) row_of_id[perm.id(r)] = r;
  for (index_t i = 0; i < n; ++i) {
    qids[i] = i;
    qrows[i] = row_of_id[i];
  }
  BruteForceIndex<Metric> index(metric);
  for (int k : {1, 5})
    for (bool pred : {false, true})
      for (int threads : {1, 3}) {
        const KnnParams p{k, pred, threads};
        const auto want = index.knn(QuerySet::all_points(), p);
        const std::string tag = what + " k=" + std::to_string(k) + (pred ? " predecessor" : "");
        expect_same(brute_force_search(perm, perm, qrows, qids, p, row_of_id), want, tag + " by id");
        expect_same(brute_force_search(perm, perm, qrows, qids, p), want, tag + " filtered");
      }
}

TEST(BruteForce, RowsNotInIdOrder) {
  const index_t n = 700;  // several point tiles
  const auto x = test::normal_matrix(n, 3, 23);
  check_permuted_rows(EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3))), "euclid");
  check_permuted_rows(ResidualMetric(residual_model(x, n, 3, 20)), "resid");
}

TEST(BruteForce, FewQueriesSplitPointsAndCountExactly) {
  // Few query tiles: points are split into chunks processed by different threads; answers and
  // per-query counters must still be exact and identical for every thread count.
  const index_t n = 5000;
  const auto x = test::normal_matrix(n, 3, 17);
  EuclideanMetric metric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3)));
  BruteForceIndex<EuclideanMetric> index(metric);
  std::vector<index_t> q = {4999, 7, 2500};
  KnnResult first, first_pred;
  for (int threads : {1, 2, 4}) {
    for (bool pred : {false, true}) {
      const auto r = index.knn(QuerySet::by_ids(IdView{q.data(), 3, 1}), KnnParams{9, pred, threads});
      for (int i = 0; i < 3; ++i) {
        // Non-predecessor: every point is evaluated once; predecessor: at least the admissible ones.
        if (!pred) {
          EXPECT_EQ(r.stats.evaluations_per_query[i], n) << threads;
        } else {
          EXPECT_GE(r.stats.evaluations_per_query[i], q[i]) << threads;
        }
      }
      if (threads == 1) (pred ? first_pred : first) = r;
      expect_same(r, pred ? first_pred : first, "threads " + std::to_string(threads));
      if (pred) {  // the answer of an independent scan over the admissible ids
        for (int i = 0; i < 3; ++i) {
          std::vector<std::pair<double, index_t>> all;
          for (index_t j = 0; j < q[i]; ++j) {
            double d2 = 0;
            for (int t = 0; t < 3; ++t) d2 += (x[q[i] * 3 + t] - x[j * 3 + t]) * (x[q[i] * 3 + t] - x[j * 3 + t]);
            all.emplace_back(d2, j);
          }
          std::sort(all.begin(), all.end());
          for (int j = 0; j < 9; ++j)
            EXPECT_EQ(r.ids[i * 9 + j], j < static_cast<int>(all.size()) ? all[j].second : -1) << i << " " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace pcct

namespace pcct {
namespace {

// The public brute_force_search checks its own arguments (k, sizes, rows, the id map, shapes).
TEST(BruteForce, SearchRefusesInconsistentArguments) {
  const index_t n = 60;
  const auto x = test::normal_matrix(n, 3, 29);
  const auto s = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3));
  const auto s2 = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n / 2, 2));
  std::vector<index_t> rows{0, 5, 9}, ids{0, 5, 9}, short_ids{0, 5}, bad_rows{0, n, 9};
  std::vector<index_t> map(n), bad_map(n);
  for (index_t i = 0; i < n; ++i) map[i] = bad_map[i] = i;
  bad_map[3] = 4;
  const auto message = [&](auto f) {
    try {
      f();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const KnnParams ok{3, true, 1};
  EXPECT_NE(message([&] { brute_force_search(s, s, rows, ids, KnnParams{0, false, 1}); }).find("k must be in"),
            std::string::npos);
  EXPECT_NE(message([&] { brute_force_search(s, s, rows, short_ids, ok); }).find("qids has 2 entries"),
            std::string::npos);
  EXPECT_NE(message([&] { brute_force_search(s, s, bad_rows, ids, ok); }).find("query row 60"), std::string::npos);
  EXPECT_NE(message([&] { brute_force_search(s, s2, rows, ids, ok); }).find("dimension"), std::string::npos);
  EXPECT_NE(message([&] { brute_force_search(s, s, rows, ids, ok, std::span<const index_t>(map.data(), 5)); })
                .find("row_of_id has 5 entries"),
            std::string::npos);
  EXPECT_NE(message([&] { brute_force_search(s, s, rows, ids, ok, bad_map); }).find("row_of_id[3]"),
            std::string::npos);
  EXPECT_EQ(message([&] { brute_force_search(s, s, rows, ids, ok, map); }), "no error");
}

}  // namespace
}  // namespace pcct
