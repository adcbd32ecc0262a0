#pragma once
// Seed bounds for residual queries (docs/tree.md, "Seed bounds"). Before a query walks the
// cover tree, its nearest points in the kernel's scaled coordinates (a kd-tree) are evaluated
// under the residual metric. They are admissible points, so the k-th smallest of their
// distances is at least the query's final k-th distance: the walk can prune with it from its
// first node and needs no best-first order to lower its threshold. Residual neighbours are
// spatially local (on gold, 3k Euclidean neighbours already hold the exact k-th distance for
// the median query), but nothing here assumes it: a poor seed only prunes less.
// compute() runs once per query block: its kd-tree search allocates the block's seed lists
// (one result per block, not per query or pair); the evaluations use caller scratch.
#include <cstdint>
#include <memory>
#include <vector>

#include "pcct/metric/residual_space.hpp"
#include "pcct/tree/kd_tree.hpp"

namespace pcct::tree {

class SeedBounds {
 public:
  /// Above this dimension a kd-tree over the coordinates is no longer cheap next to the residual
  /// evaluations it saves, and queries walk the tree best-first without seeds.
  static constexpr int kMaxDim = 16;
  /// Seeds per wanted neighbour (gold, k = 50: 150 seeds match the exact k-th distance for the
  /// median query; 100 leave it 2% high, 200 save only 1.5% of the evaluations).
  static constexpr int kPerNeighbour = 3;
  /// Seeds are skipped (the queries go best-first) when 3k exceeds 1/kMaxShare of the points:
  /// they would cost a good part of a brute-force scan (and "auto" answers k > N/8 by one).
  static constexpr int kMaxShare = 8;

  /// Seeds for the points of `space` (dataset id i at row row_of_id[i]); nullptr if its
  /// dimension is above kMaxDim.
  static std::unique_ptr<SeedBounds> build(const ResidualSpace& space, const std::vector<index_t>& row_of_id);

  struct Scratch {
    std::vector<index_t> rows;
    std::vector<double> dist, coords;
    ResidualSpace::Scratch eval;
  };
  /// For queries i = 0..nq-1, row qrows[i] of qs with dataset id qids[i] (all -1 for new
  /// points, which then use their coordinates): bound[i] = the k-th smallest distance from the
  /// query to its admissible seeds (+inf if it has fewer than k), and evals[i] += the seeds
  /// evaluated; nothing at all when 3k > N / kMaxShare. `data` and `row_of_id` are the space
  /// and id map the seeds were built from. Returns the number of evaluations.
  std::int64_t compute(const ResidualSpace& data, const std::vector<index_t>& row_of_id, const ResidualSpace& qs,
                       const index_t* qrows, const index_t* qids, int nq, int k, bool predecessor, double* bound,
                       std::int64_t* evals, Scratch& sc) const;

 private:
  explicit SeedBounds(std::unique_ptr<KdTreeIndex> kd) : kd_(std::move(kd)) {}
  std::unique_ptr<KdTreeIndex> kd_;  // scaled coordinates, dataset ids as ids (so predecessor mode filters seeds)
};

}  // namespace pcct::tree
