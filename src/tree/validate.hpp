#pragma once
// Checks every cover-tree invariant and every stored subtree and parent-child bound exactly
// (docs/tree.md); the scan's clusters are checked by validate_clusters.hpp.
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "pcct/metric/rows.hpp"
#include "tree/tree_layout.hpp"
#include "tree/validation_report.hpp"

namespace pcct::tree {

template <class Space>
ValidationReport validate_tree(const DynamicTree<Space>& t, const TreeLayout<Space>& l, const Space& s,
                               const PruneBounds<Space>& pb, int threads) {
  ValidationReport rep;
  std::mutex mu;
  auto fail = [&](const std::string& m) {
    std::lock_guard<std::mutex> lock(mu);
    rep.fail(m);
  };
  const index_t n = s.size();
  rep.nodes = t.count;
  const auto& sc = t.scale;
  if (t.count != n) fail("tree holds " + std::to_string(t.count) + " nodes for " + std::to_string(n) + " points");
  if (t.root != 0 || n == 0) {
    fail("the root is not row 0 of the breadth-first layout");
    return rep;
  }
  if (t.level[0] != sc.top()) fail("the root level is not the top level");

  // Structure: every row reached once from the root; children contiguous and consistent.
  std::vector<char> seen(n, 0);
  std::vector<std::int32_t> queue{0};
  seen[0] = 1;
  for (size_t h = 0; h < queue.size(); ++h) {
    const std::int32_t r = queue[h];
    std::int32_t expect = l.first_child[r];
    int count = 0;
    for (std::int32_t c = t.first_child[r]; c >= 0; c = t.next_sibling[c], ++count) {
      if (c != expect + count) fail("children of " + std::to_string(r) + " are not a contiguous block");
      if (t.parent[c] != r) fail("node " + std::to_string(c) + " is listed under a node that is not its parent");
      if (!(t.level[c] < t.level[r])) fail("nesting: node " + std::to_string(c) + " is not below its parent's level");
      if (t.level[c] < sc.floor() - 1) fail("node " + std::to_string(c) + " is below the duplicate level");
      if (seen[c]) fail("node " + std::to_string(c) + " is reached twice");
      seen[c] = 1;
      queue.push_back(c);
    }
    if (count != l.child_count[r]) fail("child count of " + std::to_string(r) + " is wrong");
    if (count > 0 && t.level[r] < sc.floor()) fail("a duplicate-level node has children");
  }
  if (static_cast<index_t>(queue.size()) != n) fail("not every point is in the tree");
  if (!rep.ok) return rep;

  // Covering, stored parent distances, exact subtree bounds and smallest ids (per node).
  std::vector<std::int64_t> evals(n, 0);
  auto finish = [&] {
    for (auto e : evals) rep.distance_evaluations += e;
    return rep;
  };
  const int workers = resolve_threads(threads);
  struct Scratch {
    typename Space::Scratch space;
    std::vector<index_t> desc, next;  // per-thread, reused for every node (no allocation per node)
    std::vector<double> d, aux;
  };
  std::vector<Scratch> scratch(workers);
  parallel_for(n, workers, [&](index_t r, int tid) {
    Scratch& x = scratch[tid];
    x.desc.clear();
    for (size_t h = 0;; ++h) {  // descendants of r (breadth-first)
      const index_t u = h == 0 ? r : x.desc[h - 1];
      for (int j = 0; j < l.child_count[u]; ++j) x.desc.push_back(l.first_child[u] + j);
      if (h >= x.desc.size()) break;
    }
    typename PruneBounds<Space>::Node b;
    pb.init_node(b, r);
    index_t min_id = s.id(r);
    const int nd = static_cast<int>(x.desc.size());
    if (nd > 0) {
      x.d.resize(nd);
      x.aux.resize(nd);
      s.evaluate(s, Rows::range(r, 1), Rows::list(x.desc.data(), nd), x.d.data(), x.aux.data(), nd, x.space);
      evals[r] += nd;
      for (int j = 0; j < nd; ++j) {
        typename PruneBounds<Space>::Node leaf;
        pb.init_node(leaf, x.desc[j]);
        pb.absorb(b, x.d[j], x.aux[j], leaf);
        min_id = std::min(min_id, s.id(x.desc[j]));
      }
    }
    if (!PruneBounds<Space>::same(b, t.bound[r])) fail("stored subtree bound of node " + std::to_string(r) + " is not exact");
    if (min_id != l.min_id[r]) fail("stored smallest id of the subtree of " + std::to_string(r) + " is wrong");
    if (r != 0) {
      const index_t p = t.parent[r];
      double d = 0;
      s.evaluate(s, Rows::range(r, 1), Rows::range(p, 1), &d, nullptr, 1, x.space);
      ++evals[r];
      if (d != t.parent_dist[r]) fail("stored parent distance of node " + std::to_string(r) + " is wrong");
      // The parent-child bounds the walk prunes children with (made as in make_layout).
      double dpc = 0, aux = 0;
      s.evaluate(s, Rows::range(p, 1), Rows::range(r, 1), &dpc, &aux, 1, x.space);
      ++evals[r];
      const Child c = pb.child(t.bound[r], dpc, aux, p, r);
      if (c.lo != l.child_lo[r] || c.hi != l.child_hi[r] || c.reach != l.child_reach[r])
        fail("stored parent-child bound of node " + std::to_string(r) + " is wrong");
      if (!(d <= sc.radius(t.level[r] + 1))) {
        std::ostringstream os;
        os << "covering: node " << r << " (level " << t.level[r] << ") is " << d << " from its parent, more than "
           << sc.radius(t.level[r] + 1);
        fail(os.str());
      }
    }
  });
  if (!rep.ok) return finish();

  // Separation: for node p at level l >= floor, no other node q with level(q) >= l lies in
  // (radius(floor), radius(l)]. Found by an exact range search using the bounds verified above.
  const double dup = sc.radius(sc.floor());
  parallel_for(n, workers, [&](index_t p, int tid) {
    const int lp = t.level[p];
    if (lp < sc.floor()) return;
    Scratch& x = scratch[tid];
    const auto q = pb.query(s, p);
    const double rad = sc.radius(lp);
    x.desc.assign(1, 0);  // frontier of nodes to evaluate (all have level >= lp)
    while (!x.desc.empty()) {
      const int nf = static_cast<int>(x.desc.size());
      x.d.resize(nf);
      x.aux.resize(nf);
      s.evaluate(s, Rows::range(p, 1), Rows::list(x.desc.data(), nf), x.d.data(), x.aux.data(), nf, x.space);
      evals[p] += nf;
      x.next.clear();
      for (int j = 0; j < nf; ++j) {
        const index_t a = x.desc[j];
        if (a != p && x.d[j] > dup && x.d[j] <= rad) {
          std::ostringstream os;
          os << "separation: nodes " << p << " (level " << lp << ") and " << a << " (level " << t.level[a]
             << ") are " << x.d[j] << " apart, not more than " << rad;
          fail(os.str());
        }
        if (pb.excluded(q, t.bound[a], x.d[j], x.aux[j], rad)) continue;
        for (int c = 0; c < l.child_count[a]; ++c)
          if (t.level[l.first_child[a] + c] >= lp) x.next.push_back(l.first_child[a] + c);
      }
      x.desc.swap(x.next);
    }
  });
  return finish();
}

}  // namespace pcct::tree
