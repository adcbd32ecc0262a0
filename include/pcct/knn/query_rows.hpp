#pragma once
/// Validated queries, resolved to rows of a query space.
#include <climits>
#include <optional>
#include <vector>

#include "pcct/core/errors.hpp"
#include "pcct/core/threads.hpp"
#include "pcct/core/view_checks.hpp"
#include "pcct/knn/knn_types.hpp"

namespace pcct {

template <class Space>
struct QueryRows {
  std::optional<Space> external;   ///< new points (ids -1), if the queries were coordinates
  std::vector<index_t> ids;        ///< dataset id of each query (-1 for new points)

  index_t count() const { return static_cast<index_t>(ids.size()); }
  /// Row of each query in its space: i for new points, row_of_id[id] for dataset points.
  std::vector<index_t> rows_in(const std::vector<index_t>& row_of_id) const {
    std::vector<index_t> rows(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) rows[i] = external ? static_cast<index_t>(i) : row_of_id[ids[i]];
    return rows;
  }
};

/// Row of each dataset id in a space holding every id 0..n-1 once (tree engines' lookup).
template <class Space>
std::vector<index_t> row_of_each_id(const Space& s) {
  std::vector<index_t> row_of_id(s.size(), -1);
  for (index_t r = 0; r < s.size(); ++r) row_of_id[s.id(r)] = r;
  return row_of_id;
}

/// Checks k and the query set against a dataset of n points.
inline void check_knn_params(const KnnParams& params, index_t n, const QuerySet& queries) {
  PCCT_REQUIRE(params.k >= 1, "k must be >= 1, got ", params.k);
  PCCT_REQUIRE(params.k <= n, "k (", params.k, ") exceeds the number of points (", n, ")");
  PCCT_REQUIRE(params.k < INT32_MAX, "k must be < 2^31, got ", params.k);
  require_thread_count(params.n_threads);  // also where an empty call starts no thread
  PCCT_REQUIRE(queries.kind == QuerySet::Kind::all || queries.kind == QuerySet::Kind::ids ||
                   queries.kind == QuerySet::Kind::coords,
               "query kind ", static_cast<int>(queries.kind), " is not all, ids or coords");
  PCCT_REQUIRE(!(params.predecessor && queries.kind == QuerySet::Kind::coords),
               "predecessor_mode needs queries given by point id (or all points), not new coordinates");
  if (queries.kind == QuerySet::Kind::ids) detail::require_valid_vector(queries.ids, "query ids");
}

/// Resolves queries against a metric policy (dataset ids, or embedded new points). `n` is the
/// number of indexed points (it can exceed the metric's own after inserts; -1: the metric's).
template <class Metric>
QueryRows<typename Metric::Space> resolve_queries(const Metric& metric, const QuerySet& queries,
                                                  const KnnParams& params, index_t n = -1) {
  if (n < 0) n = metric.space().size();
  check_knn_params(params, n, queries);
  QueryRows<typename Metric::Space> out;
  switch (queries.kind) {
    case QuerySet::Kind::all:
      out.ids.resize(n);
      for (index_t i = 0; i < n; ++i) out.ids[i] = i;
      break;
    case QuerySet::Kind::ids:
      // Copied, then checked: the copy is what the search reads, so a caller's array changed
      // by another thread during the call cannot slip an unchecked id past the check.
      out.ids.resize(queries.ids.size);
      for (index_t i = 0; i < queries.ids.size; ++i) out.ids[i] = queries.ids[i];
      for (index_t i = 0; i < queries.ids.size; ++i)
        PCCT_REQUIRE_RANGE(out.ids[i] >= 0 && out.ids[i] < n, "query id ", out.ids[i], " at position ", i,
                           " is out of range [0, ", n, ")");
      break;
    case QuerySet::Kind::coords:
      detail::require_valid_view(queries.coords, "queries");
      // Checked here too: a call without rows never reaches embed().
      detail::require_columns(queries.coords, metric.space().dim(), "queries", "the points have");
      if (queries.coords.rows == 0) break;  // no queries: a (0, k) answer, as for an empty id list
      out.external.emplace(metric.embed(queries.coords, params.n_threads));
      out.ids.assign(out.external->size(), -1);
      break;
  }
  return out;
}

}  // namespace pcct
