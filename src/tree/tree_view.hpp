#pragma once
// What a tree search reads (the tree, its query layout, points in tree order, pruning bounds)
// and the work counters it keeps.
#include <cstdint>
#include <vector>

#include "tree/tree_layout.hpp"

namespace pcct::tree {

// Evaluations per query are counted by the search itself (into the caller's array).
struct SearchCounters {
  std::int64_t visited = 0;
  std::int64_t pruned = 0;
  std::vector<std::int64_t> by_level;  // evaluations by (top level - node level)
  void count_level(int depth_below_top, std::int64_t n = 1) {
    if (static_cast<size_t>(depth_below_top) >= by_level.size()) by_level.resize(depth_below_top + 1, 0);
    by_level[depth_below_top] += n;
  }
};

template <class Space>
struct TreeView {
  const DynamicTree<Space>& t;
  const TreeLayout<Space>& layout;
  const Space& space;              // rows in tree (breadth-first) order
  const PruneBounds<Space>& bounds;
};

}  // namespace pcct::tree
