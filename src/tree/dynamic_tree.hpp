#pragma once
// The cover tree while it is being built: one node per point (a compressed cover tree),
// addressed by row of the build space. Child lists are intrusive linked lists in
// preallocated arrays, so insertion allocates nothing per point.
//
// Invariants (checked by validate()):
//   nesting     levels strictly decrease from parent to child;
//   covering    d(c, parent(c)) <= radius(level(c) + 1);
//   separation  d(p, q) > radius(min(level(p), level(q))) for distinct nodes farther apart
//               than radius(floor) (closer points are duplicates, stored at level floor - 1).
#include <climits>
#include <cstdint>
#include <vector>

#include "tree/level_scale.hpp"
#include "tree/prune_bounds.hpp"

namespace pcct::tree {

constexpr int kAbsent = INT_MIN;

template <class Space>
struct DynamicTree {
  using Bound = typename PruneBounds<Space>::Node;

  LevelScale scale;
  std::vector<int> level;             // per row; kAbsent until inserted
  std::vector<std::int32_t> parent;   // -1 for the root
  std::vector<std::int32_t> first_child, last_child, next_sibling;
  std::vector<double> parent_dist;
  std::vector<Bound> bound;           // exact bound of the subtree inserted so far
  std::int32_t root = -1;
  index_t count = 0;

  void resize(index_t n) {
    level.resize(n, kAbsent);
    parent.resize(n, -1);
    first_child.resize(n, -1);
    last_child.resize(n, -1);
    next_sibling.resize(n, -1);
    parent_dist.resize(n, 0.0);
    bound.resize(n);
  }
  /// Appends `child` to the end of `p`'s child list (children keep insertion order).
  void link(std::int32_t child, std::int32_t p) {
    parent[child] = p;
    next_sibling[child] = -1;
    if (last_child[p] < 0) first_child[p] = child;
    else next_sibling[last_child[p]] = child;
    last_child[p] = child;
  }
};

}  // namespace pcct::tree
