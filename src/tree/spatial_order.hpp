#pragma once
// Morton (Z-order) keys of the points' coordinates, used to order each node's children in the
// query layout (tree_layout.hpp). On the residual metric a node's distance to its parent is
// close to 1 for most children, so ordering siblings by it scatters spatially close subtrees
// over the rows; in Morton order the subtrees a query opens (residual neighbours are spatially
// local) sit close together in memory. Measured (BENCHMARKS.md, "What moved"): gold scan ~2-3%
// faster; at N = 262,144 the scan 10-12% and the walk ~8% faster. Answers do not depend on it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pcct/metric/euclidean_space.hpp"
#include "pcct/metric/residual_space.hpp"

namespace pcct::tree {

inline double layout_coord(const EuclideanSpace& s, index_t r, int t) { return s.coord(r, t); }
inline double layout_coord(const ResidualSpace& s, index_t r, int t) { return s.scaled_coord(r, t); }

/// Key of each row: the bits of its cell indices (2^bits cells per coordinate, bits =
/// min(21, 64 / dim), at least 1) interleaved, lowest first, over the first 64 coordinates.
/// All zero for a space without coordinates.
template <class Space>
std::vector<std::uint64_t> morton_keys(const Space& s) {
  const index_t n = s.size();
  const int dim = s.dim();
  std::vector<std::uint64_t> key(static_cast<size_t>(n), 0);
  if (dim == 0 || n == 0) return key;
  const int used = std::min(dim, 64);
  const int bits = std::clamp(64 / used, 1, 21);
  const double cells = std::ldexp(1.0, bits);
  for (int t = 0; t < used; ++t) {
    double lo = layout_coord(s, 0, t), hi = lo;
    for (index_t r = 1; r < n; ++r) {
      lo = std::min(lo, layout_coord(s, r, t));
      hi = std::max(hi, layout_coord(s, r, t));
    }
    // Halved so that the span is finite even for coordinates near the double range.
    const double span = 0.5 * hi - 0.5 * lo;
    if (!(span > 0)) continue;
    for (index_t r = 0; r < n; ++r) {
      const double u = (0.5 * layout_coord(s, r, t) - 0.5 * lo) / span;  // in [0, 1]
      const auto cell = static_cast<std::uint64_t>(std::clamp(u * cells, 0.0, cells - 1));
      for (int b = 0; b < bits; ++b) key[r] |= ((cell >> b) & 1) << (b * used + t);
    }
  }
  return key;
}

}  // namespace pcct::tree
