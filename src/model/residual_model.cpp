#include "pcct/model/residual_model.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "metric/check.hpp"
#include "model/lapack.hpp"
#include "simd/dispatch.hpp"
#include "tree/spatial_order.hpp"  // Morton keys: which points are close in coordinates

namespace pcct {
namespace {

constexpr int kBlock = 256;  // points per triangular-solve block (fixed: results never depend on threads)
constexpr int kSolveWidth = 8;  // each solve has a multiple of this many columns (see fill_factor_rows)

// Scaled coordinates x_t / l_t of every row of `coords` into the space (structure-of-arrays).
void fill_coords(ResidualSpace& s, MatrixView coords, const Kernel& k) {
  for (index_t i = 0; i < coords.rows; ++i)
    for (int t = 0; t < s.dim(); ++t) {
      const double x = coords(i, t) / k.lengthscale_of(t);
      PCCT_REQUIRE(std::abs(x) <= detail::kMaxCoordinate,
                   "coordinates divided by the lengthscale are too large for float64 distances (", x, " at row ", i,
                   ", column ", t, ")");
      s.set_scaled_coord(i, t, x);
    }
}

// A process-unique id for each model built from inducing points (0 is user factors).
std::uint64_t next_factorisation() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}

// Dot product of a V row with itself in the canonical order shared by every distance.
double self_dot(const double* row, int len) {
  double out = 0;
  simd::table().dot_tile(&row, 1, &row, 1, len, &out, 1);
  return out;
}

}  // namespace

ResidualModel ResidualModel::from_inducing(MatrixView coords, const Kernel& kernel, IdView inducing,
                                           int n_threads) {
  detail::require_nonempty(coords, "coords");
  detail::require_finite(coords, "coords");
  const int dim = static_cast<int>(coords.cols);
  kernel.validate(dim);
  const index_t n = coords.rows;
  detail::require_valid_vector(inducing, "inducing");
  PCCT_REQUIRE(inducing.size > 0, "inducing must contain at least one point (inducing_count must be > 0)");
  PCCT_REQUIRE(inducing.size <= n && inducing.size <= INT_MAX, "there are ", inducing.size,
               " inducing points but only ", n,
               " points (inducing_count, or the length of inducing, must be at most the number of points)");
  const int m = static_cast<int>(inducing.size);
  std::vector<char> seen(n, 0);
  ResidualModel model;
  model.inducing_.resize(m);
  for (int j = 0; j < m; ++j) {
    const index_t id = inducing[j];
    PCCT_REQUIRE_RANGE(id >= 0 && id < n, "inducing id ", id, " at position ", j, " is out of range [0, ", n, ")");
    PCCT_REQUIRE(!seen[id], "inducing contains the id ", id, " more than once");
    seen[id] = 1;
    model.inducing_[j] = id;
  }

  model.space_ = ResidualSpace(kernel, dim, m, n, n_threads);
  model.space_.set_factorisation(next_factorisation());
  fill_coords(model.space_, coords, kernel);
  for (index_t i = 0; i < n; ++i) model.space_.set_id(i, i);

  model.inducing_scaled_.resize(static_cast<size_t>(dim) * m);
  for (int j = 0; j < m; ++j)
    for (int t = 0; t < dim; ++t)
      model.inducing_scaled_[t * m + j] = coords(model.inducing_[j], t) / kernel.lengthscale_of(t);

  // K(U, U) + jitter I, column-major; its Cholesky factor L (lower).
  const auto& tab = simd::table();
  model.chol_.assign(static_cast<size_t>(m) * m, 0.0);
  {
    std::vector<double> xq(dim);
    simd::RowArgs args;
    args.n = m;
    args.dim = dim;
    args.xp = model.inducing_scaled_.data();
    args.ldx = m;
    args.variance = kernel.variance;
    for (int j = 0; j < m; ++j) {
      for (int t = 0; t < dim; ++t) xq[t] = model.inducing_scaled_[t * m + j];
      args.xq = xq.data();
      args.out = model.chol_.data() + static_cast<size_t>(j) * m;
      tab.kernel_row(kernel.type, args);
      model.chol_[static_cast<size_t>(j) * m + j] += kJitter * kernel.variance;
    }
    int info = 0;
    {
      detail::SingleThreadedBlas one_thread;
      dpotrf_("L", &m, model.chol_.data(), &m, &info, 1);
    }
    PCCT_REQUIRE(info == 0, "Cholesky factorisation of K(U, U) + jitter failed (leading minor ", info,
                 " is not positive definite); check the kernel parameters and the inducing points");
  }

  model.fill_factor_rows(model.space_, n_threads);
  return model;
}

ResidualModel ResidualModel::from_factors(MatrixView coords, const Kernel& kernel, MatrixView v, VectorView p) {
  detail::require_nonempty(coords, "coords");
  detail::require_finite(coords, "coords");
  const int dim = static_cast<int>(coords.cols);
  kernel.validate(dim);
  const index_t n = coords.rows;
  detail::require_valid_view(v, "v_matrix");
  detail::require_valid_vector(p, "p_diag");
  PCCT_REQUIRE(v.rows == n, "v_matrix has ", v.rows, " rows but coords has ", n, " (one row per point)");
  PCCT_REQUIRE(p.size == n, "p_diag has ", p.size, " entries but coords has ", n, " rows");
  ResidualModel model;
  const int m = static_cast<int>(v.cols);
  model.space_ = ResidualSpace(kernel, dim, m, n);
  fill_coords(model.space_, coords, kernel);
  for (index_t i = 0; i < n; ++i) {
    model.space_.set_id(i, i);
    double* row = model.space_.v_row_mut(i);
    for (int j = 0; j < m; ++j) row[j] = v(i, j);
    model.space_.p_mut(i) = p[i];
  }
  // The copies are checked, not the caller's arrays: what is checked is what is used, even if
  // another thread writes to those arrays during the call.
  const MatrixView kept_v{model.space_.v_row(0), n, m, model.space_.rank_padded(), 1};
  detail::require_finite(kept_v, "v_matrix");
  detail::require_representable(kept_v, "v_matrix");  // V_i . V_j must not overflow
  for (index_t i = 0; i < n; ++i)
    PCCT_REQUIRE(detail::valid_residual_variance(model.space_.p(i)),
                 "p_diag must be finite and within [1e-150, 1e150], got ", model.space_.p(i), " at index ", i);
  return model;
}

ResidualSpace ResidualModel::embed(MatrixView coords, int n_threads, const char* what) const {
  PCCT_REQUIRE(can_embed(), what,
               " given as coordinates need a model built from inducing points; a model built from "
               "user factors (v_matrix, p_diag) only answers queries by point id");
  detail::require_valid_view(coords, what);
  detail::require_columns(coords, dim(), what, "the model has");
  PCCT_REQUIRE(coords.rows > 0, what, " has no rows");
  detail::require_finite(coords, what);
  ResidualSpace s(kernel(), dim(), rank(), coords.rows, n_threads);
  s.set_factorisation(space_.factorisation());
  fill_coords(s, coords, kernel());
  fill_factor_rows(s, n_threads);
  return s;
}

namespace {
// All 17 significant digits: the two sides of a failed check can agree to the default 6.
std::string full(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}
}  // namespace

std::string ResidualModel::metric_problem(const ResidualSpace& s, index_t begin, index_t end) {
  PCCT_REQUIRE_RANGE(0 <= begin && begin <= end && end <= s.size(), "metric_problem: rows [", begin, ", ", end,
                     ") are not within [0, ", s.size(), ")");
  const double var = s.kernel().variance;
  for (index_t i = begin; i < end; ++i) {
    const double vv = self_dot(s.v_row(i), s.rank_padded());
    const double q = var - vv;  // K_ii - |V_i|^2, the exact residual variance
    const double tol = 4.0 * (s.rank() + 8) * 0x1p-53 * (vv + var);
    if (q < -tol)
      return detail::concat("point ", s.id(i), ": |V_i|^2 = ", full(vv), " exceeds K(x_i, x_i) = ", full(var),
                            ", so K - V V^T is not positive semi-definite and d is not a metric");
    if (s.p(i) < q - tol)
      return detail::concat("point ", s.id(i), ": p_i = ", full(s.p(i)), " is below K(x_i, x_i) - |V_i|^2 = ", full(q),
                            ", so |rho| can exceed 1 and d is not a metric");
  }
  // User factors only: a model's own rows satisfy it by construction.
  return s.factorisation() == 0 ? pair_problem(s, begin, end) : std::string{};
}

std::string ResidualModel::pair_problem(const ResidualSpace& s, index_t begin, index_t end) {
  // K - V V^T positive semi-definite implies |K_ij - V_i.V_j| <= sqrt(R_ii R_jj) <= sqrt(p_i p_j)
  // (given the diagonal conditions), i.e. |rho_ij| <= 1. Pairs close in coordinates (large K,
  // where a wrong factor shows: e.g. V and p made for another lengthscale) are tested: each row
  // with its two neighbours on either side in Morton order, O(N log N) for user factors only.
  const index_t n = s.size();
  std::vector<std::uint64_t> key = tree::morton_keys(s);
  std::vector<index_t> order(static_cast<size_t>(n));
  for (index_t r = 0; r < n; ++r) order[r] = r;
  std::sort(order.begin(), order.end(), [&](index_t a, index_t b) { return key[a] < key[b] || (key[a] == key[b] && a < b); });
  const Kernel& kernel = s.kernel();
  const auto& tab = simd::table();
  // |V_i|^2 <= K_ii (+ rounding) was checked above, so |V_i||V_j| + K_ii <= 2 K_ii (+).
  const double tol = 4.0 * (s.rank() + 16) * 0x1p-53 * 2.5 * kernel.variance;
  for (index_t at = 0; at < n; ++at) {
    const index_t i = order[at];
    if (i < begin || i >= end) continue;
    for (index_t step : {-2, -1, 1, 2}) {
      if (at + step < 0 || at + step >= n) continue;
      const index_t j = order[at + step];
      double r2 = 0;
      for (int t = 0; t < s.dim(); ++t) {
        const double diff = s.scaled_coord(i, t) - s.scaled_coord(j, t);
        r2 += diff * diff;
      }
      const double* vi = s.v_row(i);
      const double* vj = s.v_row(j);
      double dot = 0;
      tab.dot_tile(&vi, 1, &vj, 1, s.rank_padded(), &dot, 1);
      const double num = kernel.value_from_r2(r2) - dot;
      const double limit = std::sqrt(s.p(i) * s.p(j));
      if (std::fabs(num) > limit + tol)
        return detail::concat("points ", s.id(i), " and ", s.id(j), ": |K(x_i, x_j) - V_i.V_j| = ", full(std::fabs(num)),
                              " exceeds sqrt(p_i p_j) = ", full(limit),
                              ", so K - V V^T is not positive semi-definite (are V and p made for this kernel?) "
                              "and d is not a metric");
    }
  }
  return {};
}

void ResidualModel::fill_factor_rows(ResidualSpace& s, int n_threads) const {
  // V = L^{-1} K(U, X) in fixed blocks of points, each solved on one thread
  // (SingleThreadedBlas): a point's row depends neither on the thread count nor on its block.
  const Kernel& k = kernel();
  const index_t n = s.size();
  const int m = rank(), d = dim();
  const auto& tab = simd::table();
  const index_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, resolve_threads(n_threads), [&](index_t b, int) {
    const index_t start = b * kBlock;
    const int nb = static_cast<int>(std::min<index_t>(kBlock, n - start));
    // OpenBLAS solves the columns beyond a multiple of its kernel's width in another order
    // (one odd column moved distances by up to 1e-5 through the metric's cancellation); zero
    // columns up to a multiple of kSolveWidth keep every point on the full-width path, so a
    // point's row does not depend on how many points share its solve (tested).
    const int nb_solve = (nb + kSolveWidth - 1) / kSolveWidth * kSolveWidth;
    std::vector<double> kux(static_cast<size_t>(m) * nb_solve, 0.0);  // m x nb_solve column-major: K(U, x_j)
    std::vector<double> xq(d);
    simd::RowArgs args;
    args.n = m;
    args.dim = d;
    args.xp = inducing_scaled_.data();
    args.ldx = m;
    args.variance = k.variance;
    for (int j = 0; j < nb; ++j) {
      for (int t = 0; t < d; ++t) xq[t] = s.scaled_coord(start + j, t);
      args.xq = xq.data();
      args.out = kux.data() + static_cast<size_t>(j) * m;
      tab.kernel_row(k.type, args);
    }
    const double one = 1.0;
    {
      detail::SingleThreadedBlas one_thread;
      dtrsm_("L", "L", "N", "N", &m, &nb_solve, &one, chol_.data(), &m, kux.data(), &m, 1, 1, 1, 1);
    }
    for (int j = 0; j < nb; ++j) {
      double* row = s.v_row_mut(start + j);
      std::copy_n(kux.data() + static_cast<size_t>(j) * m, m, row);
      s.p_mut(start + j) = std::max(k.variance - self_dot(row, s.rank_padded()), kVarianceFloor);
    }
  });
}

}  // namespace pcct
