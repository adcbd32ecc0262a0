#pragma once
/// The residual model of a Vecchia-inducing-points ("VIF") Gaussian process:
///   K(U, U) + 1e-6 variance I = L L^T,   V = L^{-1} K(U, X)  (row i: V_i),
///   p_i = max(K(x_i, x_i) - ||V_i||^2, 1e-9),
/// in float64 throughout. Immutable after construction.
#include <memory>
#include <string>
#include <vector>

#include "pcct/core/matrix_view.hpp"
#include "pcct/kernels/kernel.hpp"
#include "pcct/metric/residual_space.hpp"

namespace pcct {

class ResidualModel {
 public:
  static constexpr double kJitter = 1e-6;          ///< relative to the kernel variance
  static constexpr double kVarianceFloor = 1e-9;   ///< floor of p_i

  /// Builds V and p from the inducing points coords[inducing[j]]: 1 to n distinct ids.
  /// Throws std::invalid_argument / std::out_of_range naming the bad argument (also for
  /// coordinates that are not finite or above 1e150 after dividing by the lengthscale).
  static ResidualModel from_inducing(MatrixView coords, const Kernel& kernel, IdView inducing,
                                     int n_threads = 0);
  /// Uses the caller's factors: V (n x m) and p (n); K still comes from the kernel. Throws
  /// unless V is finite and within 1e150, p within [1e-150, 1e150], and the coordinates as for
  /// from_inducing. Whether they make a metric is metric_problem's question.
  static ResidualModel from_factors(MatrixView coords, const Kernel& kernel, MatrixView v, VectorView p);

  index_t size() const { return space_.size(); }
  int dim() const { return space_.dim(); }
  int rank() const { return space_.rank(); }
  const Kernel& kernel() const { return space_.kernel(); }
  /// All points, in original order (row i has id i).
  const ResidualSpace& space() const { return space_; }
  /// True when V and p of new coordinates can be computed (model built from inducing points).
  bool can_embed() const { return !inducing_.empty(); }
  const std::vector<index_t>& inducing() const { return inducing_; }

  /// Empty if rows [begin, end) of s satisfy the conditions that make d a metric, otherwise
  /// why not. A model built from inducing points always does; user factors need
  /// K(x_i, x_i) - |V_i|^2 >= 0 and p_i >= K(x_i, x_i) - |V_i|^2 (up to rounding), and
  /// K - V V^T positive semi-definite. The last cannot be checked cheaply in full: for user
  /// factors, |rho_ij| <= 1 is checked for each row's nearest rows in Morton order (this
  /// catches factors made for another kernel), so passing proves nothing, failing is certain.
  static std::string metric_problem(const ResidualSpace& s, index_t begin, index_t end);
  /// The sampled off-diagonal part of metric_problem (any factorisation; rows [begin, end)
  /// must already pass the diagonal conditions, which bound its rounding term).
  static std::string pair_problem(const ResidualSpace& s, index_t begin, index_t end);

  /// V and p of new points (ids -1), at least one row. Requires can_embed().
  ResidualSpace embed(MatrixView coords, int n_threads = 0, const char* what = "queries") const;

 private:
  // V rows and p of every row of s from its scaled coordinates (needs the Cholesky factor).
  void fill_factor_rows(ResidualSpace& s, int n_threads) const;

  ResidualSpace space_;
  std::vector<index_t> inducing_;
  std::vector<double> inducing_scaled_;  // dim x m, structure-of-arrays, scaled by the lengthscale
  std::vector<double> chol_;             // m x m lower Cholesky factor, column-major
};

}  // namespace pcct
