#pragma once
// The top of the cover tree cut into clusters, for the level scan (tree/level_scan.hpp).
//
// Every node at level >= L is a *centre*; every other node belongs to its nearest ancestor
// that is a centre (its first ancestor at level >= L). A cluster is its centre plus those
// members, and carries a PruneBounds node bound over exactly those points (not over the
// centre's whole subtree), so a query excludes it with the same rigorous test the tree walk
// uses. L (cluster_level) is the deepest level at which the centres are at most half of the
// points and the centres above L (the top ones) at most max(4096, 2 x the root's children):
// every query evaluates every top centre, the centres at L only under a parent it has not
// excluded, then the members of the clusters it cannot exclude. So more centres cost more dense
// evaluations and fewer centres leave wider clusters. Measured on gold-like workloads (q/s of
// the scan for 1,024 queries; levels -1, -2, -3 hold 2,047 / 5,600 / 6,164 nodes at N = 16k,
// 2,944 / 16,294 / 63,785 at 262k): L = -2 everywhere from 16k to 262k. At 16k, L = -1 (the
// former rule, centres <= 40%) 7,832 q/s, -2 10,997, -3 9,191; at 262k, L = -3 (former rule)
// 3,693 q/s (20,884 evaluations per query), -2 6,345 (5,389); 32k and 131k pick -2 either way
// (gold: 10,299 centres, clusters of angular radius 0.19 on average, ~700 member evaluations
// per query).
#include <algorithm>
#include <limits>
#include <map>
#include <vector>

#include "pcct/metric/rows.hpp"
#include "tree/tree_layout.hpp"

namespace pcct::tree {

template <class Space>
struct Clusters {
  using Bound = typename PruneBounds<Space>::Node;

  int level = 0;                      // centres: nodes at level >= this
  // Rows of the centres: first the `top` ones above `level` (row order), then those at
  // `level` in depth-first order (siblings together, neighbouring subtrees next to each other).
  std::vector<index_t> centre;
  index_t top = 0;
  std::vector<std::int32_t> parent_slot;  // centre j >= top: the slot of its parent (< top)
  std::vector<index_t> start;         // members of cluster j: member[start[j]] .. member[start[j + 1] - 1]
  std::vector<index_t> member;        // rows, grouped by cluster
  std::vector<Bound> bound;           // over the centre and its members
  std::vector<index_t> min_member_id; // smallest member id (none: the largest index_t): predecessor mode

  index_t size() const { return static_cast<index_t>(centre.size()); }
  int members(index_t j) const { return static_cast<int>(start[j + 1] - start[j]); }
};

/// End of the chunk of slots starting at c0 (slots with equal `parent` are consecutive): whole
/// sibling groups while they fit in `width` slots; a larger group is cut into pieces of
/// `width`. Reads at most width + 1 slots.
inline index_t sibling_chunk_end(const std::vector<std::int32_t>& parent, index_t c0, index_t width) {
  const auto m = static_cast<index_t>(parent.size());
  const index_t limit = std::min(m, c0 + width);
  index_t end = c0 + 1;
  while (end < limit && parent[end] == parent[c0]) ++end;
  if (end == limit) return end;  // full (or the first group goes on: the next chunk takes it)
  for (index_t g = end; g < limit;) {
    index_t h = g + 1;
    while (h < m && h <= limit && parent[h] == parent[g]) ++h;
    if (h > limit) break;  // this group does not fit
    end = g = h;
  }
  return end;
}

/// The cluster level L of a tree with per_level[l] nodes at level l (the root's level first):
/// the deepest level such that the centres (nodes at levels >= L) are at most kCentreShare of
/// the nodes and the top centres (levels > L) at most max(kMaxTop, 2 x root_children); the
/// root's own level if none is (e.g. one or two points).
inline int cluster_level(const std::map<int, index_t, std::greater<>>& per_level, index_t root_children) {
  constexpr double kCentreShare = 0.5;
  constexpr index_t kMaxTop = 4096;
  index_t n = 0;
  for (auto [lv, count] : per_level) n += count;
  const index_t max_top = std::max(kMaxTop, 2 * root_children);
  int level = per_level.empty() ? 0 : per_level.begin()->first;
  index_t above = 0;  // centres above the level lv (the top ones if lv becomes L)
  for (auto [lv, count] : per_level) {
    if (above > 0 && (above + count > kCentreShare * static_cast<double>(n) || above > max_top)) break;
    above += count;
    level = lv;
  }
  return level;
}

/// Clusters of a tree in breadth-first row order (parents before children).
template <class Space>
Clusters<Space> make_clusters(const DynamicTree<Space>& t, const TreeLayout<Space>& layout, const Space& s,
                              const PruneBounds<Space>& pb) {
  Clusters<Space> c;
  const index_t n = t.count;
  std::map<int, index_t, std::greater<>> per_level;
  for (index_t r = 0; r < n; ++r) ++per_level[t.level[r]];
  index_t root_children = 0;
  for (std::int32_t ch = t.first_child[t.root]; ch >= 0; ch = t.next_sibling[ch]) ++root_children;
  c.level = cluster_level(per_level, root_children);
  std::vector<index_t> owner(n), slot(n, -1);
  for (index_t r = 0; r < n; ++r)
    if (t.level[r] > c.level) c.centre.push_back(r);
  c.top = c.size();
  for (index_t r = 0; r < n; ++r)
    if (t.level[r] == c.level) c.centre.push_back(r);
  std::stable_sort(c.centre.begin() + c.top, c.centre.end(),
                   [&](index_t a, index_t b) { return layout.dfs_rank[a] < layout.dfs_rank[b]; });
  for (index_t j = 0; j < c.size(); ++j) slot[c.centre[j]] = j;
  for (index_t r = 0; r < n; ++r)
    owner[r] = slot[r] >= 0 ? r : owner[t.parent[r]];  // the parent comes first in breadth-first order
  const index_t m = c.size();
  c.parent_slot.assign(m, -1);

  for (index_t j = c.top; j < m; ++j) {
    const std::int32_t p = t.parent[c.centre[j]];
    c.parent_slot[j] = p >= 0 ? static_cast<std::int32_t>(slot[p]) : -1;  // -1: the root, always scanned
  }
  c.start.assign(m + 1, 0);
  for (index_t r = 0; r < n; ++r)
    if (owner[r] != r) ++c.start[slot[owner[r]] + 1];
  for (index_t j = 0; j < m; ++j) c.start[j + 1] += c.start[j];
  c.member.resize(c.start[m]);
  {
    std::vector<index_t> fill(c.start.begin(), c.start.end() - 1);
    for (index_t r = 0; r < n; ++r)
      if (owner[r] != r) c.member[fill[slot[owner[r]]]++] = r;
  }
  c.bound.resize(m);
  c.min_member_id.assign(m, std::numeric_limits<index_t>::max());
  typename Space::Scratch sc;
  std::vector<double> d, aux;
  for (index_t j = 0; j < m; ++j) {
    pb.init_node(c.bound[j], c.centre[j]);
    const int cnt = c.members(j);
    if (cnt == 0) continue;
    d.resize(cnt);
    aux.resize(cnt);
    s.evaluate(s, Rows::range(c.centre[j], 1), Rows::list(c.member.data() + c.start[j], cnt), d.data(), aux.data(),
               cnt, sc);
    for (int i = 0; i < cnt; ++i) {
      const index_t r = c.member[c.start[j] + i];
      typename Clusters<Space>::Bound leaf;
      pb.init_node(leaf, r);
      pb.absorb(c.bound[j], d[i], aux[i], leaf);
      c.min_member_id[j] = std::min(c.min_member_id[j], s.id(r));
    }
  }
  return c;
}

}  // namespace pcct::tree
