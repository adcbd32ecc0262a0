#pragma once
/// Points under the Euclidean metric, stored structure-of-arrays in a chosen order
/// (original order for the brute force, tree order for the cover tree).
#include <span>
#include <utility>
#include <vector>

#include "pcct/core/matrix_view.hpp"
#include "pcct/metric/rows.hpp"

namespace pcct {

class EuclideanSpace {
 public:
  /// Per-thread buffers for tile evaluation (reused across calls; no allocation once warm).
  struct Scratch {
    std::vector<double> xp;  // dim x count, gathered point coordinates
    std::vector<double> xq;  // dim
    std::vector<double> pair_xq, pair_xp, pair_out;  // thin tiles
  };

  EuclideanSpace() = default;
  EuclideanSpace(const EuclideanSpace&) = default;
  EuclideanSpace& operator=(const EuclideanSpace&) = default;
  /// A moved-from space is empty (size 0), not a size without its rows.
  EuclideanSpace(EuclideanSpace&& o) noexcept { *this = std::move(o); }
  EuclideanSpace& operator=(EuclideanSpace&& o) noexcept {
    if (this == &o) return *this;
    n_ = std::exchange(o.n_, 0);
    dim_ = std::exchange(o.dim_, 0);
    xs_ = std::move(o.xs_);
    ids_ = std::move(o.ids_);
    o.xs_.clear();
    o.ids_.clear();
    return *this;
  }
  /// Copies coords (n x dim, any strides). Throws if empty, not finite or above 1e150 in
  /// absolute value (squared distances must stay finite; `what` names the argument).
  static EuclideanSpace from_coords(MatrixView coords, const char* what = "coords");

  index_t size() const { return n_; }
  int dim() const { return dim_; }
  /// Dataset id of stored row r (-1 for points that are not dataset points).
  index_t id(index_t r) const { return ids_[r]; }
  const std::vector<index_t>& ids() const { return ids_; }
  double coord(index_t r, int t) const { return xs_[t * n_ + r]; }
  /// Coordinates, structure-of-arrays: coordinate t of row r at soa()[t * size() + r].
  const double* soa() const { return xs_.data(); }

  /// Copy with rows reordered: row r of the result is row order[r] of this space.
  /// Rows order[0], order[1], ... of this space (small: copied on one thread whatever n_threads).
  EuclideanSpace permuted(std::span<const index_t> order, int n_threads = 1) const;
  /// Same space with all ids set to -1 (used for external query points).
  void mark_external();
  /// Throws unless `more` can be appended (same dimension).
  void require_appendable(const EuclideanSpace& more) const;
  /// Appends points (ids continue from `first_id`).
  void append(const EuclideanSpace& more, index_t first_id);

  /// Distance between row a of `qs` and row b of this space (reference path, one pair).
  double distance(const EuclideanSpace& qs, index_t a, index_t b) const;

  /// out[i * ld + j] = d(query row q[i] of qs, point row p[j] of this space).
  /// aux is unused for this metric (kept for a uniform interface). qs must have this space's
  /// dimension and the rows must exist (not checked: the hot path; the engines check them).
  void evaluate(const EuclideanSpace& qs, Rows q, Rows p, double* out, double* aux, index_t ld,
                Scratch& scratch) const;

 private:
  index_t n_ = 0;
  int dim_ = 0;
  std::vector<double> xs_;      // dim x n, structure-of-arrays
  std::vector<index_t> ids_;
};

}  // namespace pcct
