#pragma once
/// Exact k-NN with a compressed cover tree (one node per point) over any pcct metric.
///
/// Invariants (validate() checks them all, exactly, on computed float64 distances):
///   nesting      levels strictly decrease from a parent to its children;
///   covering     d(child, parent) <= base^(level(child) + 1);
///   separation   d(p, q) > base^min(level(p), level(q)) for distinct nodes farther apart than
///                the duplicate radius base^floor (floor = top - ceil(15 / log10(base)),
///                with the top level of the first build: an insert that raises the root's
///                level keeps the floor);
///   bounds       every node stores its true subtree radius (and, for the residual metric, the
///                angular radius and rounding-error weight of its subtree) and the smallest id
///                in its subtree; queries prune with these, never with level radii;
///   layout       each child's stored parent-child bound is exact, and so are the level scan's
///                clusters: every node below the cluster level sits in its nearest centre's
///                cluster, whose stored bound and smallest id match its members (the cluster
///                level itself is a speed choice, not checked).
///
/// Construction is parallel and deterministic (batch insertion with prefix doubling and a
/// lexicographically-first maximal independent set; docs/tree.md): the tree, and therefore
/// every answer and counter, is identical for every thread count.
///
/// Threading guarantees: knn() and validate() are const and may run concurrently;
/// insert() must not run concurrently with anything else.
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "pcct/knn/index.hpp"
#include "pcct/metric/metrics.hpp"

namespace pcct {

/// How the tree answers queries (both exact, bit-identical answers; docs/tree.md):
/// walk: the batched cover-tree walk; scan: the level scan (every node down to the cluster
/// level in dense tiles, then the members of the clusters no bound excludes).
enum class TreeEngine { walk, scan };

struct CoverTreeParams {
  double base = 2.0;      ///< level radius ratio, >= 1.01 (2 measured best on gold; docs/tree.md)
  int n_threads = 0;      ///< threads for construction (0 = OpenMP default)
  /// "auto" algorithm: answer with the brute force where that is cheaper, and with the engine
  /// a sample of the call's queries finds cheaper (`engine` is then ignored).
  bool auto_brute = false;
  TreeEngine engine = TreeEngine::walk;
  /// Residual metric, data of at most 16 dimensions: bound each query's k-th distance by
  /// evaluating its 3k nearest points in the scaled coordinates first (skipped where 3k > N/8),
  /// then walk the tree breadth-first (faster, same answers; src/tree/seed_bounds.hpp).
  bool seed_bounds = true;
};

struct CoverTreeBuildInfo {
  double seconds = 0;
  std::int64_t distance_evaluations = 0;
  std::int64_t rounds = 0;
  std::int64_t retries = 0;
  int top_level = 0;
  int floor_level = 0;
  int height = 0;  ///< longest root-to-leaf path (edges)
  /// The level scan's cut of the tree: the top centres, which every scanning query evaluates,
  /// and all its centres (the top ones and the cluster centres below them).
  std::int64_t scan_top_centres = 0;
  std::int64_t scan_centres = 0;
  /// Per level present in the tree: level, node count, mean and max stored subtree radius.
  struct Level {
    int level;
    std::int64_t nodes;
    double mean_radius;
    double max_radius;
  };
  std::vector<Level> levels;
};

struct CoverTreeValidation {
  bool ok = true;
  std::vector<std::string> problems;
  std::int64_t nodes = 0;
  std::int64_t distance_evaluations = 0;
};

template <class Metric>
class CoverTreeIndex final : public Index {
 public:
  /// Throws std::invalid_argument for an empty space, 2^31 - 1 points or more, a base below
  /// 1.01 or not finite, a thread count outside 0..kMaxThreads, and residual factors that fail
  /// ResidualModel::metric_problem (the tree needs a metric).
  CoverTreeIndex(Metric metric, const CoverTreeParams& params = {});
  ~CoverTreeIndex() override;

  index_t size() const override;
  int dim() const override;
  const char* metric_name() const override { return Metric::name; }
  const char* algorithm_name() const override;
  KnnResult knn(const QuerySet& queries, const KnnParams& params) const override;

  /// Appends points (their ids continue from size()); every invariant is kept. Residual rows
  /// must come from the index's own model (ResidualModel::embed), or from from_factors for an
  /// index of user factors, and pass ResidualModel::metric_problem; the total stays below
  /// 2^31 - 1 points; n_threads in 0..kMaxThreads. Built aside and committed at the end: a
  /// failure (these checks, or bad_alloc) changes nothing.
  void insert(const typename Metric::Space& points, int n_threads = 0);
  CoverTreeValidation validate(int n_threads = 0) const;
  /// Counters of the construction and every insert so far (rewritten by insert()).
  const CoverTreeBuildInfo& build_info() const;
  /// The tree in breadth-first order, for inspection and independent checks: per node its
  /// dataset id, level, parent position (-1 for the root) and stored subtree radius.
  struct Arrays {
    std::vector<index_t> id;
    std::vector<int> level;
    std::vector<std::int32_t> parent;
    std::vector<double> radius;
  };
  Arrays arrays() const;
  /// The metric the index was built with: its space holds the original points only, not the
  /// inserted ones.
  const Metric& metric() const;

 private:
  KnnResult tree_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                        const std::vector<index_t>& ids, const KnnParams& params, TreeEngine engine,
                        index_t min_blocks) const;
  KnnResult brute_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                         const std::vector<index_t>& ids, const KnnParams& params) const;
  KnnResult auto_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                        const std::vector<index_t>& ids, const KnnParams& params) const;
  struct Part {  // the answers of a subset of a call's queries: query j of result is call query pos[j]
    std::vector<index_t> pos;
    KnnResult result;
  };
  static KnnResult merge_parts(index_t nq, int k, std::initializer_list<const Part*> parts);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class CoverTreeIndex<EuclideanMetric>;
extern template class CoverTreeIndex<ResidualMetric>;

}  // namespace pcct
