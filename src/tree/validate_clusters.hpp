#pragma once
// Checks the level scan's clusters (clusters.hpp) against the tree they were cut from, exactly:
// which nodes are centres, which cluster owns every other node, the parent slots, and every
// stored cluster bound and smallest member id. The scan drops a whole cluster on its bound, so
// a wrong bound or a missing member would be a silent wrong answer.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "pcct/metric/rows.hpp"
#include "tree/clusters.hpp"
#include "tree/validation_report.hpp"

namespace pcct::tree {

template <class Space>
void validate_clusters(const DynamicTree<Space>& t, const Clusters<Space>& c, const Space& s,
                       const PruneBounds<Space>& pb, ValidationReport& rep) {
  const index_t n = t.count, m = c.size();
  auto fail = [&](const std::string& what) { rep.fail("clusters: " + what); };
  if (c.top < 0 || c.top > m || static_cast<index_t>(c.parent_slot.size()) != m ||
      static_cast<index_t>(c.start.size()) != m + 1 || static_cast<index_t>(c.bound.size()) != m ||
      static_cast<index_t>(c.min_member_id.size()) != m || c.start.front() != 0 || c.start.back() != n - m ||
      static_cast<index_t>(c.member.size()) != n - m) {
    fail("array sizes do not match " + std::to_string(m) + " centres and " + std::to_string(n) + " nodes");
    return;
  }
  for (index_t j = 0; j < m; ++j)
    if (c.start[j + 1] < c.start[j] || c.start[j + 1] > n - m) {
      fail("member ranges are not increasing within [0, " + std::to_string(n - m) + "]");
      return;
    }
  // Centres: every node at level > c.level (in row order), then every node at c.level.
  std::vector<index_t> slot(n, -1);
  for (index_t j = 0; j < m; ++j) {
    const index_t r = c.centre[j];
    if (r < 0 || r >= n || slot[r] >= 0) {
      fail("centre slot " + std::to_string(j) + " holds an invalid or repeated row");
      return;
    }
    slot[r] = j;
    const bool top = j < c.top;
    if (top ? !(t.level[r] > c.level) : t.level[r] != c.level)
      fail("centre " + std::to_string(r) + " is on the wrong side of the cluster level");
    if (top && j > 0 && c.centre[j - 1] >= r) fail("the top centres are not in row order");
  }
  for (index_t r = 0; r < n; ++r)
    if (slot[r] < 0 && t.level[r] >= c.level) fail("node " + std::to_string(r) + " should be a centre");
  for (index_t j = c.top; j < m; ++j) {
    const std::int32_t p = t.parent[c.centre[j]];
    const index_t want = p >= 0 ? slot[p] : -1;
    if (c.parent_slot[j] != want || (p >= 0 && !(want >= 0 && want < c.top)))
      fail("wrong parent slot for centre " + std::to_string(c.centre[j]));
  }
  if (!rep.ok) return;
  // Members: each non-centre node belongs to its nearest centre ancestor, exactly once.
  std::vector<index_t> owner(n, -1);
  for (index_t j = 0; j < m; ++j) {
    for (index_t i = c.start[j]; i < c.start[j + 1]; ++i) {
      const index_t r = c.member[i];
      if (r < 0 || r >= n || slot[r] >= 0 || owner[r] >= 0) {
        fail("member " + std::to_string(r) + " is a centre, out of range or listed twice");
        return;
      }
      owner[r] = j;
    }
  }
  for (index_t r = 0; r < n; ++r) {
    if (slot[r] >= 0) continue;
    std::int32_t a = t.parent[r];
    while (a >= 0 && slot[a] < 0) a = t.parent[a];
    if (a < 0 || owner[r] != slot[a]) fail("node " + std::to_string(r) + " is not in its nearest centre's cluster");
  }
  if (!rep.ok) return;
  // Bounds and smallest ids, recomputed from the members.
  typename Space::Scratch sc;
  std::vector<double> d, aux;
  for (index_t j = 0; j < m; ++j) {
    typename Clusters<Space>::Bound b;
    pb.init_node(b, c.centre[j]);
    index_t min_id = std::numeric_limits<index_t>::max();
    const int cnt = c.members(j);
    if (cnt > 0) {
      d.resize(cnt);
      aux.resize(cnt);
      s.evaluate(s, Rows::range(c.centre[j], 1), Rows::list(c.member.data() + c.start[j], cnt), d.data(), aux.data(),
                 cnt, sc);
      rep.distance_evaluations += cnt;
      for (int i = 0; i < cnt; ++i) {
        const index_t r = c.member[c.start[j] + i];
        typename Clusters<Space>::Bound leaf;
        pb.init_node(leaf, r);
        pb.absorb(b, d[i], aux[i], leaf);
        min_id = std::min(min_id, s.id(r));
      }
    }
    if (!PruneBounds<Space>::same(b, c.bound[j]))
      fail("stored bound of the cluster of " + std::to_string(c.centre[j]) + " is not exact");
    if (min_id != c.min_member_id[j])
      fail("stored smallest member id of the cluster of " + std::to_string(c.centre[j]) + " is wrong");
  }
}

}  // namespace pcct::tree
