#pragma once
/// Non-owning views of caller arrays. Strides are in elements, so C-ordered,
/// Fortran-ordered and sliced (non-contiguous) NumPy arrays are all accepted
/// without a copy at the boundary; pcct copies what it keeps into its own layout.
#include <cstdint>

namespace pcct {

using index_t = std::int64_t;

/// rows x cols matrix of doubles; element (i, j) at data[i*row_stride + j*col_stride].
struct MatrixView {
  const double* data = nullptr;
  index_t rows = 0;
  index_t cols = 0;
  index_t row_stride = 0;
  index_t col_stride = 1;

  static MatrixView row_major(const double* d, index_t r, index_t c) { return {d, r, c, c, 1}; }
  double operator()(index_t i, index_t j) const { return data[i * row_stride + j * col_stride]; }
};

/// Length-n vector of doubles with a stride.
struct VectorView {
  const double* data = nullptr;
  index_t size = 0;
  index_t stride = 1;
  double operator[](index_t i) const { return data[i * stride]; }
};

/// Length-n vector of int64 ids with a stride.
struct IdView {
  const index_t* data = nullptr;
  index_t size = 0;
  index_t stride = 1;
  index_t operator[](index_t i) const { return data[i * stride]; }
};

}  // namespace pcct
