#pragma once
/// Checks that a caller's view describes memory it can hold: no negative sizes, no null data
/// behind a non-zero size, element offsets that fit index_t, and (matrices) a column count that
/// fits the int dimensions and ranks use. Run at API entry, before any element is read.
#include <climits>
#include <limits>

#include "pcct/core/errors.hpp"
#include "pcct/core/matrix_view.hpp"

namespace pcct::detail {

/// Sets `span` = |stride| * (count - 1), the largest element offset of a strided run of
/// `count` elements, and says whether it fits index_t.
inline bool offset_span(index_t count, index_t stride, index_t& span) {
  span = 0;
  if (count <= 1) return true;
  if (stride == std::numeric_limits<index_t>::min()) return false;  // |stride| does not fit
  return !__builtin_mul_overflow(stride < 0 ? -stride : stride, count - 1, &span);
}

inline void require_valid_view(const MatrixView& m, const char* what) {
  PCCT_REQUIRE(m.rows >= 0 && m.cols >= 0, what, " has a negative shape (", m.rows, " x ", m.cols, ")");
  PCCT_REQUIRE(m.cols <= INT_MAX, what, " has too many columns (", m.cols, ")");
  if (m.rows == 0 || m.cols == 0) return;
  PCCT_REQUIRE(m.data != nullptr, what, " has no data (a null pointer) for ", m.rows, " x ", m.cols, " values");
  index_t row_span = 0, col_span = 0, total = 0;
  PCCT_REQUIRE(offset_span(m.rows, m.row_stride, row_span) && offset_span(m.cols, m.col_stride, col_span) &&
                   !__builtin_add_overflow(row_span, col_span, &total),
               what, " has strides (", m.row_stride, ", ", m.col_stride, ") whose offsets overflow");
}

/// New points (queries, inserts) must have `dim` columns; `owner_has` names what sets it, with
/// its verb ("the points have", "the model has").
inline void require_columns(const MatrixView& m, index_t dim, const char* what, const char* owner_has) {
  PCCT_REQUIRE(m.cols == dim, what, " have ", m.cols, " columns but ", owner_has, " dimension ", dim);
}

template <class Vector>  // VectorView, IdView
void require_valid_vector(const Vector& v, const char* what) {
  PCCT_REQUIRE(v.size >= 0, what, " has a negative size (", v.size, ")");
  if (v.size == 0) return;
  PCCT_REQUIRE(v.data != nullptr, what, " has no data (a null pointer) for ", v.size, " values");
  index_t span = 0;
  PCCT_REQUIRE(offset_span(v.size, v.stride, span), what, " has a stride (", v.stride, ") whose offsets overflow");
}

}  // namespace pcct::detail
