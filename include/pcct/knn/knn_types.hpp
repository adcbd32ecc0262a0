#pragma once
/// Parameters, query sets and results shared by every k-NN engine.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcct/core/matrix_view.hpp"

namespace pcct {

struct KnnParams {
  index_t k = 1;             ///< neighbours per query, 1 <= k <= N
  bool predecessor = false;  ///< query with id i only sees ids j < i (Vecchia conditioning sets)
  int n_threads = 0;         ///< 0 = OpenMP default; results never depend on it
};

/// Which points to query: every dataset point, a list of dataset ids, or new coordinates.
struct QuerySet {
  enum class Kind { all, ids, coords };
  Kind kind = Kind::all;
  IdView ids;         ///< Kind::ids
  MatrixView coords;  ///< Kind::coords (n x dim)

  static QuerySet all_points() { return {}; }
  static QuerySet by_ids(IdView ids) { return {Kind::ids, ids, {}}; }
  static QuerySet by_coords(MatrixView c) { return {Kind::coords, {}, c}; }
};

/// Work counters of one call (summed over queries).
struct KnnStats {
  std::int64_t queries = 0;
  std::int64_t distance_evaluations = 0;
  std::int64_t nodes_visited = 0;
  std::int64_t subtrees_pruned = 0;
  std::int64_t brute_force_queries = 0;  ///< queries answered by a full scan ("auto" splits calls)
  std::int64_t seed_evaluations = 0;     ///< residual cover tree: evaluations for seed bounds (included above)
  std::int64_t scan_queries = 0;         ///< queries answered by the cover tree's level scan
  /// "auto": evaluations of its probe of the walk, whose answers it drops (included in
  /// distance_evaluations, which is therefore the sum of evaluations_per_query plus this)
  std::int64_t probe_evaluations = 0;
  /// "auto": queries of this call it ran on the scan (answers kept) to choose the call's engine;
  /// 0 when the call followed a choice measured by an earlier call of the index
  std::int64_t sampled_queries = 0;
  std::vector<std::int64_t> evaluations_per_query;  ///< one entry per query
  /// Tree engines: evaluations by level of the evaluated node (pairs level, count; highest
  /// first). Seed evaluations, queries "auto" sends to the brute force, and its probe of the
  /// walk have no level: when one tree engine answers the whole call, the levels sum to the
  /// total minus the seed evaluations; under "auto", also minus those two parts.
  std::vector<std::pair<int, std::int64_t>> evaluations_by_level;
};

/// Row q holds the k neighbours of query q sorted by (distance, id); rows with fewer than k
/// admissible points are padded with id -1 and distance +inf.
struct KnnResult {
  index_t queries = 0;
  index_t k = 0;
  std::vector<index_t> ids;         ///< queries x k
  std::vector<double> distances;    ///< queries x k
  KnnStats stats;
};

/// An empty result for nq queries and k neighbours (rows to be filled by an engine).
inline KnnResult make_result(index_t nq, int k) {
  KnnResult r;
  r.queries = nq;
  r.k = k;
  r.ids.resize(static_cast<std::size_t>(nq) * k);
  r.distances.resize(static_cast<std::size_t>(nq) * k);
  r.stats.queries = nq;
  r.stats.evaluations_per_query.assign(nq, 0);
  return r;
}

/// Sets the total of distance evaluations from the per-query counts an engine filled in.
inline void total_evaluations(KnnStats& s) {
  s.distance_evaluations = 0;
  for (auto e : s.evaluations_per_query) s.distance_evaluations += e;
}

}  // namespace pcct
