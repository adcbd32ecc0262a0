#pragma once
// What both tree engines (the walk, batch_search.hpp, and the level scan, level_scan.hpp) keep
// per query of a block: its k best so far, its seed bound and its pruning terms; and the
// stable counting sort both use to group a round's work by node or cluster.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "pcct/knn/top_k.hpp"
#include "tree/prune_bounds.hpp"

namespace pcct::tree {

template <class Space>
class BlockAnswers {
 public:
  /// Queries i = 0..nq-1 are rows qrows[i] of qs; seed (may be null): per query an upper
  /// bound of its final k-th distance, or +inf. Reuses the storage of earlier blocks.
  void prepare(const PruneBounds<Space>& bounds, const Space& qs, const index_t* qrows, int nq, int k,
               const double* seed) {
    seed_.assign(nq, std::numeric_limits<double>::infinity());
    if (seed) std::copy_n(seed, nq, seed_.data());
    storage_.resize(static_cast<size_t>(nq) * k);
    heaps_.resize(nq);
    queries_.resize(nq);
    for (int i = 0; i < nq; ++i) {
      heaps_[i] = TopK(storage_.data() + static_cast<size_t>(i) * k, k);
      queries_[i] = bounds.query(qs, qrows[i]);
    }
  }

  /// Query i's pruning threshold: its k-th distance so far, or its seed bound if smaller (exact:
  /// both bound the final k-th distance from above, and only d > threshold is ever dropped).
  double bound(int i) const { return std::min(heaps_[i].bound(), seed_[i]); }
  bool seeded(int i) const { return seed_[i] < std::numeric_limits<double>::infinity(); }
  const typename PruneBounds<Space>::Query& query(int i) const { return queries_[i]; }

  /// Offers point `row` of `data` at distance d to query i (dataset id qid; predecessor mode
  /// admits only smaller ids).
  void offer(const Space& data, int i, index_t row, double d, index_t qid, bool predecessor) {
    const index_t id = data.id(row);
    if ((!predecessor || id < qid) && d <= bound(i)) heaps_[i].push(d, id);
  }

  /// Writes each query's k neighbours, sorted, padded with (-1, +inf).
  void write(int nq, int k, index_t* out_ids, double* out_dist) {
    for (int i = 0; i < nq; ++i)
      heaps_[i].write_sorted(out_ids + static_cast<size_t>(i) * k, out_dist + static_cast<size_t>(i) * k);
  }

 private:
  std::vector<double> seed_;
  std::vector<Neighbour> storage_;
  std::vector<TopK> heaps_;
  std::vector<typename PruneBounds<Space>::Query> queries_;
};

/// Stable counting sort of items by key(item) in [0, keys): items of one key stay in their
/// order, keys ascending. count (zeroed, at least keys + 1 entries kept zero between calls),
/// touched and sorted are caller scratch, so a call allocates nothing once they have grown.
/// Few items (e.g. a call with one query) are sorted by (key, position) instead, so that
/// count, O(keys), is only allocated once a batch is large enough to use it.
template <class T, class Key>
void group_by_key(std::vector<T>& items, Key key, size_t keys, std::vector<std::int64_t>& count,
                  std::vector<std::int32_t>& touched, std::vector<T>& sorted) {
  if (count.size() < keys + 1 && items.size() * 32 < keys) {
    touched.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) touched[i] = static_cast<std::int32_t>(i);
    std::sort(touched.begin(), touched.end(), [&](std::int32_t a, std::int32_t b) {
      const auto ka = key(items[a]), kb = key(items[b]);
      return ka < kb || (ka == kb && a < b);
    });
    sorted.resize(items.size());
    for (size_t j = 0; j < items.size(); ++j) sorted[j] = items[touched[j]];
    touched.clear();
    items.swap(sorted);
    return;
  }
  if (count.size() < keys + 1) count.assign(keys + 1, 0);
  touched.clear();
  for (const T& it : items)
    if (count[key(it)]++ == 0) touched.push_back(key(it));
  std::sort(touched.begin(), touched.end());
  std::int64_t offset = 0;
  for (std::int32_t k : touched) {
    const std::int64_t c = count[k];
    count[k] = offset;
    offset += c;
  }
  sorted.resize(items.size());
  for (const T& it : items) sorted[count[key(it)]++] = it;
  for (std::int32_t k : touched) count[k] = 0;
  items.swap(sorted);
}

}  // namespace pcct::tree
