#pragma once
/// Exact k-NN for the Euclidean metric with a kd-tree (axis-aligned boxes): the fastest exact
/// structure in low dimensions, where a cover tree's per-node overhead dominates (measured in
/// BENCHMARKS.md). Same distance kernels as the brute force, so answers are bit-identical to it.
///
/// Build: recursive split of the widest box side at the median (ties kept together by index),
/// leaves of at most kLeaf points (or of any number of identical points, which no cut can
/// separate) stored contiguously, coordinates structure-of-arrays in tree
/// order. Queries: depth-first, nearer child first, pruning a box only when a lower bound on
/// the exact distance to it (with rounding margins) exceeds the current k-th distance, or (in
/// predecessor mode) when the smallest id in it is not below the query id.
///
/// Threading guarantees: as every pcct Index (knn() const and thread-safe; answers identical
/// for every thread count); insert() must not run concurrently with anything else on the
/// same index.
#include <memory>
#include <string>
#include <vector>

#include "pcct/knn/index.hpp"
#include "pcct/metric/metrics.hpp"

namespace pcct {

class KdTreeIndex final : public Index {
 public:
  static constexpr int kLeaf = 32;

  explicit KdTreeIndex(EuclideanMetric metric);
  ~KdTreeIndex() override;
  index_t size() const override;
  int dim() const override;
  const char* metric_name() const override { return EuclideanMetric::name; }
  const char* algorithm_name() const override { return "kdtree"; }
  KnnResult knn(const QuerySet& queries, const KnnParams& params) const override;
  /// Appends points (ids continue from size()) by rebuilding (a build takes milliseconds).
  void insert(const EuclideanSpace& points);
  /// Checks that every point lies in its leaf's box and on its side of every cut above it,
  /// and every node's smallest id; returns the problems found.
  std::vector<std::string> validate() const;

  struct Impl;  ///< opaque implementation (src/tree/kd_tree.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pcct
