#pragma once
// Query layout: nodes in breadth-first order, so the children of a node are one contiguous
// block of rows (and the wide top levels are contiguous too). The point data (coordinates,
// V rows, p) is permuted into this order so traversal reads memory sequentially.
#include <algorithm>
#include <numeric>
#include <span>
#include <vector>

#include "tree/dynamic_tree.hpp"

namespace pcct::tree {

template <class Space>
struct TreeLayout {
  using Bound = typename PruneBounds<Space>::Node;
  std::vector<std::int32_t> first_child;  // children of t: [first_child[t], first_child[t] + child_count[t])
  std::vector<std::int32_t> child_count;
  std::vector<index_t> min_id;            // smallest dataset id in the subtree of t (t included)
  // Parent-child bounds of t (Child, unused for the root), structure-of-arrays so that a
  // node's children are tested a SIMD vector at a time (simd::Table::child_mask).
  std::vector<double> child_lo, child_hi, child_reach;
  std::vector<std::int32_t> dfs_rank;     // position of t in a depth-first (preorder) walk

  index_t size() const { return static_cast<index_t>(first_child.size()); }
};

/// Breadth-first order of the tree; children sorted by (level desc, key, distance to parent,
/// row). `key` (one per row, e.g. morton_keys) puts spatially close siblings, and so their
/// subtrees, next to each other; empty: no key.
template <class Space>
std::vector<std::int32_t> breadth_first_order(const DynamicTree<Space>& t, std::span<const std::uint64_t> key = {}) {
  std::vector<std::int32_t> order;
  order.reserve(t.count);
  order.push_back(t.root);
  std::vector<std::int32_t> kids;
  for (size_t head = 0; head < order.size(); ++head) {
    kids.clear();
    for (std::int32_t c = t.first_child[order[head]]; c >= 0; c = t.next_sibling[c]) kids.push_back(c);
    std::sort(kids.begin(), kids.end(), [&](std::int32_t a, std::int32_t b) {
      if (t.level[a] != t.level[b]) return t.level[a] > t.level[b];
      if (!key.empty() && key[a] != key[b]) return key[a] < key[b];
      if (t.parent_dist[a] != t.parent_dist[b]) return t.parent_dist[a] < t.parent_dist[b];
      return a < b;
    });
    order.insert(order.end(), kids.begin(), kids.end());
  }
  return order;
}

/// Renumbers the tree so that row r of the result is row order[r] of the input
/// (the point data must be permuted the same way). Child lists follow the new order.
template <class Space>
DynamicTree<Space> renumber(const DynamicTree<Space>& t, const std::vector<std::int32_t>& order) {
  const auto n = static_cast<index_t>(order.size());
  std::vector<std::int32_t> pos(t.level.size(), -1);
  for (index_t r = 0; r < n; ++r) pos[order[r]] = static_cast<std::int32_t>(r);
  DynamicTree<Space> out;
  out.scale = t.scale;
  out.resize(n);
  out.count = n;
  out.root = pos[t.root];
  for (index_t r = 0; r < n; ++r) {
    const std::int32_t old = order[r];
    out.level[r] = t.level[old];
    out.parent_dist[r] = t.parent_dist[old];
    out.bound[r] = t.bound[old];
  }
  for (index_t r = 0; r < n; ++r) {  // breadth-first order: linking in row order keeps it
    const std::int32_t p = t.parent[order[r]];
    if (p >= 0) out.link(static_cast<std::int32_t>(r), pos[p]);
  }
  return out;
}

/// Query arrays of a tree already in breadth-first row order, whose node bounds were made
/// with pb (or bounds with the same eps_tree).
template <class Space>
TreeLayout<Space> make_layout(const DynamicTree<Space>& t, const Space& s, const PruneBounds<Space>& pb) {
  TreeLayout<Space> l;
  const index_t n = t.count;
  l.first_child.assign(n, 0);
  l.child_count.assign(n, 0);
  l.min_id.resize(n);
  for (index_t r = 0; r < n; ++r) {
    l.min_id[r] = s.id(r);
    const std::int32_t f = t.first_child[r];
    l.first_child[r] = f >= 0 ? f : 0;
    for (std::int32_t c = f; c >= 0; c = t.next_sibling[c]) ++l.child_count[r];
  }
  for (index_t r = n - 1; r > 0; --r) {  // children come after their parent
    const std::int32_t p = t.parent[r];
    l.min_id[p] = std::min(l.min_id[p], l.min_id[r]);
  }
  // Depth-first ranks: nodes close in this order lie in the same subtree, hence close in space.
  l.dfs_rank.assign(n, 0);
  {
    std::vector<std::int32_t> stack{t.root};
    std::int32_t next = 0;
    while (!stack.empty()) {
      const std::int32_t u = stack.back();
      stack.pop_back();
      l.dfs_rank[u] = next++;
      for (int j = l.child_count[u] - 1; j >= 0; --j) stack.push_back(l.first_child[u] + j);
    }
  }
  // Parent-child bounds need |rho(p, c)| too (not only the distance): one evaluation per node.
  l.child_lo.assign(n, 0.0);
  l.child_hi.assign(n, 0.0);
  l.child_reach.assign(n, 0.0);
  typename Space::Scratch sc;
  for (index_t r = 1; r < n; ++r) {
    double d = 0, aux = 0;
    const index_t p = t.parent[r];
    s.evaluate(s, Rows::range(p, 1), Rows::range(r, 1), &d, &aux, 1, sc);
    const Child c = pb.child(t.bound[r], d, aux, p, r);
    l.child_lo[r] = c.lo;
    l.child_hi[r] = c.hi;
    l.child_reach[r] = c.reach;
  }
  return l;
}

}  // namespace pcct::tree
