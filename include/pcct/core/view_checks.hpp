#pragma once
/// Checks that a caller's view describes memory it can hold: no negative sizes, no null data
/// behind a non-zero size, element offsets that fit index_t, and (matrices) a column count that
/// fits the int dimensions and ranks use. Run at API entry, before any element is read.
#include <climits>
#include <cstdlib>

#include "pcct/core/errors.hpp"
#include "pcct/core/matrix_view.hpp"

namespace pcct::detail {

/// |stride| * (count - 1) fits index_t (count >= 1).
inline bool span_fits(index_t count, index_t stride) {
  if (count <= 1) return true;
  const index_t s = stride < 0 ? -stride : stride;
  if (stride == LLONG_MIN) return false;
  index_t span = 0;
  return !__builtin_mul_overflow(s, count - 1, &span);
}

inline void require_valid_view(const MatrixView& m, const char* what) {
  PCCT_REQUIRE(m.rows >= 0 && m.cols >= 0, what, " has a negative shape (", m.rows, " x ", m.cols, ")");
  PCCT_REQUIRE(m.cols <= INT_MAX, what, " has too many columns (", m.cols, ")");
  if (m.rows == 0 || m.cols == 0) return;
  PCCT_REQUIRE(m.data != nullptr, what, " has no data (a null pointer) for ", m.rows, " x ", m.cols, " values");
  index_t total = 0;
  PCCT_REQUIRE(span_fits(m.rows, m.row_stride) && span_fits(m.cols, m.col_stride) &&
                   !__builtin_add_overflow(std::abs(m.row_stride) * (m.rows - 1),
                                           std::abs(m.col_stride) * (m.cols - 1), &total),
               what, " has strides (", m.row_stride, ", ", m.col_stride, ") whose offsets overflow");
}

template <class Vector>  // VectorView, IdView
void require_valid_vector(const Vector& v, const char* what) {
  PCCT_REQUIRE(v.size >= 0, what, " has a negative size (", v.size, ")");
  if (v.size == 0) return;
  PCCT_REQUIRE(v.data != nullptr, what, " has no data (a null pointer) for ", v.size, " values");
  PCCT_REQUIRE(span_fits(v.size, v.stride), what, " has a stride (", v.stride, ") whose offsets overflow");
}

}  // namespace pcct::detail
