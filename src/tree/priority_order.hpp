#pragma once
// The fixed pseudo-random insertion order of the cover-tree build. A random order gives the
// expected cover-tree shape whatever order the caller's points come in (sorted inputs would
// otherwise build degenerate trees); a fixed generator makes it reproducible everywhere.
#include <cstdint>
#include <numeric>
#include <vector>

namespace pcct::tree {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Rows [first, end) in a Fisher-Yates order seeded by `first`.
inline std::vector<std::int32_t> priority_order(std::int64_t first, std::int64_t end) {
  std::vector<std::int32_t> order(static_cast<size_t>(end - first));
  std::iota(order.begin(), order.end(), static_cast<std::int32_t>(first));
  std::uint64_t state = 0x5eed0000ULL + static_cast<std::uint64_t>(first);
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(splitmix64(state) % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace pcct::tree
