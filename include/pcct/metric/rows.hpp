#pragma once
/// A set of rows of a space: either the contiguous range [start, start + count) or
/// an explicit list of row indices.
#include "pcct/core/matrix_view.hpp"

namespace pcct {

struct Rows {
  const index_t* idx = nullptr;  ///< row indices, or nullptr for a contiguous range
  index_t start = 0;
  int count = 0;

  static Rows range(index_t start, int count) { return {nullptr, start, count}; }
  static Rows list(const index_t* idx, int count) { return {idx, 0, count}; }
  index_t operator[](int k) const { return idx ? idx[k] : start + k; }
  bool contiguous() const { return idx == nullptr; }
};

}  // namespace pcct
