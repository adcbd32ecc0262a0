#pragma once
// Input validation helpers shared by the spaces and the model.
#include <cmath>

#include "pcct/core/errors.hpp"
#include "pcct/core/matrix_view.hpp"
#include "pcct/core/view_checks.hpp"

namespace pcct::detail {

/// Throws naming `what`, the row and the column of the first non-finite entry.
inline void require_finite(MatrixView m, const char* what) {
  for (index_t i = 0; i < m.rows; ++i)
    for (index_t j = 0; j < m.cols; ++j)
      PCCT_REQUIRE(std::isfinite(m(i, j)), what, " contains a non-finite value (", m(i, j), ") at row ", i,
                   ", column ", j);
}

/// Coordinates so large that squared distances overflow float64 would make every distance
/// infinite: rejected (|x| <= 1e150 leaves room for any dimension pcct can hold).
constexpr double kMaxCoordinate = 1e150;

/// Finite and within kMaxCoordinate (coordinates, and entries of V).
inline bool representable(double x) { return std::isfinite(x) && std::abs(x) <= kMaxCoordinate; }

/// Residual variances p: within [1e-150, 1e150] the product p_i p_j in every distance stays a
/// normal float64; outside it the product can underflow to 0 or overflow to inf, and every
/// distance would silently become 0 or 1.
inline bool valid_residual_variance(double p) { return std::isfinite(p) && p >= 1e-150 && p <= 1e150; }

inline void require_representable(MatrixView m, const char* what) {
  for (index_t i = 0; i < m.rows; ++i)
    for (index_t j = 0; j < m.cols; ++j)
      PCCT_REQUIRE(std::abs(m(i, j)) <= kMaxCoordinate, what, " has a value too large for float64 distances (",
                   m(i, j), ") at row ", i, ", column ", j);
}

inline void require_nonempty(MatrixView m, const char* what) {
  require_valid_view(m, what);
  PCCT_REQUIRE(m.rows > 0, what, " has no rows (N = 0)");
  PCCT_REQUIRE(m.cols > 0, what, " has no columns (dimension 0)");
}

}  // namespace pcct::detail
