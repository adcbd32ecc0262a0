#pragma once
/// Points under the residual-correlation metric, in a chosen order:
///   rho_ij = (K(x_i, x_j) - V_i . V_j) / sqrt(p_i p_j),  d_ij = sqrt(1 - min(|rho_ij|, 1)),
///   d_ii = 0.
/// Everything is float64: K - V.V cancels ~6 digits on typical data, so float32 would
/// return wrong neighbours. V rows are zero-padded to a multiple of 8 and 64-byte aligned.
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "pcct/core/aligned.hpp"
#include "pcct/core/matrix_view.hpp"
#include "pcct/kernels/kernel.hpp"
#include "pcct/metric/rows.hpp"

namespace pcct {

class ResidualSpace {
 public:
  struct Scratch {
    std::vector<const double*> qrows, prows;
    std::vector<double> dots;  // nq x count
    std::vector<double> xp;    // dim x count
    std::vector<double> pp;
    std::vector<index_t> pid;
    std::vector<double> xq;
    std::vector<double> pair_xq, pair_xp, pair_pq, pair_pp, pair_out, pair_aux;  // thin tiles
  };

  ResidualSpace() = default;
  ResidualSpace(const ResidualSpace&) = default;
  ResidualSpace& operator=(const ResidualSpace&) = default;
  /// A moved-from space is empty (size 0), not a size without its rows.
  /// (Nothing here allocates: the moved-from kernel keeps an empty lengthscale, which an
  /// empty space never reads.)
  ResidualSpace(ResidualSpace&& o) noexcept
      : kernel_(std::move(o.kernel_)),
        n_(std::exchange(o.n_, 0)),
        dim_(std::exchange(o.dim_, 0)),
        rank_(std::exchange(o.rank_, 0)),
        rank_pad_(std::exchange(o.rank_pad_, 0)),
        v_(std::move(o.v_)),
        xs_(std::move(o.xs_)),
        p_(std::move(o.p_)),
        ids_(std::move(o.ids_)),
        factorisation_(std::exchange(o.factorisation_, 0)) {
    o.clear_moved_from();
  }
  ResidualSpace& operator=(ResidualSpace&& o) noexcept {
    if (this == &o) return *this;
    kernel_ = std::move(o.kernel_);
    n_ = std::exchange(o.n_, 0);
    dim_ = std::exchange(o.dim_, 0);
    rank_ = std::exchange(o.rank_, 0);
    rank_pad_ = std::exchange(o.rank_pad_, 0);
    v_ = std::move(o.v_);
    xs_ = std::move(o.xs_);
    p_ = std::move(o.p_);
    ids_ = std::move(o.ids_);
    factorisation_ = std::exchange(o.factorisation_, 0);
    o.clear_moved_from();
    return *this;
  }
  /// Space with the given kernel and shape, V zeroed (on n_threads threads: first-touching the
  /// 134 MB of gold's V on one thread cost ~50 ms); rows are filled by the model.
  ResidualSpace(Kernel kernel, int dim, int rank, index_t n, int n_threads = 1);

  index_t size() const { return n_; }
  int dim() const { return dim_; }
  int rank() const { return rank_; }
  int rank_padded() const { return rank_pad_; }
  const Kernel& kernel() const { return kernel_; }
  index_t id(index_t r) const { return ids_[r]; }
  const std::vector<index_t>& ids() const { return ids_; }

  /// Row r of V (rank_padded() doubles, zero beyond rank()).
  const double* v_row(index_t r) const { return v_.data() + r * rank_pad_; }
  double* v_row_mut(index_t r) { return v_.data() + r * rank_pad_; }
  double p(index_t r) const { return p_[r]; }
  double& p_mut(index_t r) { return p_[r]; }
  /// Coordinate t of row r divided by the lengthscale of dimension t.
  double scaled_coord(index_t r, int t) const { return xs_[t * n_ + r]; }
  void set_scaled_coord(index_t r, int t, double x) { xs_[t * n_ + r] = x; }
  void set_id(index_t r, index_t id) { ids_[r] = id; }
  /// Which factorisation the V rows come from: 0 for user factors (V and p given), otherwise
  /// the id of the ResidualModel built from inducing points that computed them (its copies
  /// share it). Rows of different factorisations are not one metric, so they never mix.
  std::uint64_t factorisation() const { return factorisation_; }
  void set_factorisation(std::uint64_t f) { factorisation_ = f; }

  /// Rows order[0], order[1], ... of this space (copied on n_threads threads).
  ResidualSpace permuted(std::span<const index_t> order, int n_threads = 1) const;
  void mark_external();
  /// Throws unless `more` can be appended: same dimension, rank, kernel and factorisation, and
  /// rows that pass the model's checks (finite coordinates and V within 1e150, zero V padding, p in
  /// [1e-150, 1e150]). Runs before append() changes anything.
  void require_appendable(const ResidualSpace& more) const;
  void append(const ResidualSpace& more, index_t first_id);

  /// Distance between row a of `qs` and row b of this space (reference path, one pair).
  double distance(const ResidualSpace& qs, index_t a, index_t b) const;

  /// out[i * ld + j] = d(query row q[i] of qs, point row p[j] of this space);
  /// aux (if not null) receives |rho| clamped to [0, 1] with the same layout. qs must come
  /// from the same model (dimension, rank, kernel, factorisation) and the rows must exist:
  /// not checked here (the hot path), but by every engine and brute_force_search.
  void evaluate(const ResidualSpace& qs, Rows q, Rows p, double* out, double* aux, index_t ld,
                Scratch& scratch) const;

 private:
  void clear_moved_from() noexcept {  // moved-from containers are only "valid": make them empty
    kernel_.lengthscale.clear();
    v_.clear();
    xs_.clear();
    p_.clear();
    ids_.clear();
  }

  Kernel kernel_;
  index_t n_ = 0;
  int dim_ = 0;
  int rank_ = 0;
  int rank_pad_ = 0;
  aligned_vector<double> v_;    // n x rank_pad
  std::vector<double> xs_;      // dim x n scaled coordinates (structure-of-arrays)
  std::vector<double> p_;       // n
  std::vector<index_t> ids_;    // n
  std::uint64_t factorisation_ = 0;
};

}  // namespace pcct
