#pragma once
// Exact k-NN on the cover tree, best-first: a priority queue of expanded nodes ordered by a
// lower bound of their subtree; a node's children are evaluated together as one distance tile.
// A subtree is skipped only when PruneBounds::excluded proves every point in it is farther
// than the current k-th distance, or (predecessor mode) when its smallest id is not < the
// query id. Ties are broken by id exactly as in the brute force.
#include <queue>
#include <vector>

#include "pcct/knn/knn_types.hpp"
#include "pcct/knn/top_k.hpp"
#include "tree/tree_layout.hpp"

namespace pcct::tree {

struct SearchCounters {
  std::int64_t evaluations = 0;
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

template <class Space>
class KnnSearcher {
 public:
  explicit KnnSearcher(const TreeView<Space>& view) : v_(view) {}

  /// Neighbours of row `qrow` of `qs` (dataset id `qid`, -1 for a new point) into `heap`.
  void search(const Space& qs, index_t qrow, index_t qid, bool predecessor, TopK& heap, SearchCounters& cnt) {
    const auto q = v_.bounds.query(qs, qrow);
    while (!pq_.empty()) pq_.pop();
    const std::int32_t root = v_.t.root;
    if (predecessor && v_.layout.min_id[root] >= qid) return;
    double d = 0, aux = 0;
    v_.space.evaluate(qs, Rows::range(qrow, 1), Rows::range(root, 1), &d, &aux, 1, scratch_);
    ++cnt.evaluations;
    cnt.count_level(0);
    offer(heap, root, d, qid, predecessor);
    push_if_open(q, root, d, aux, heap, cnt);
    while (!pq_.empty()) {
      const Entry e = pq_.top();
      pq_.pop();
      if (v_.bounds.excluded(q, v_.t.bound[e.node], e.d, e.aux, heap.bound())) {
        ++cnt.pruned;
        continue;
      }
      ++cnt.visited;
      const std::int32_t f = v_.layout.first_child[e.node];
      const int nc = v_.layout.child_count[e.node];
      // Children worth evaluating: those whose subtree may hold an admissible point within the
      // current k-th distance, judged from the parent's distance alone.
      const Visit visit = v_.bounds.visit(q, v_.t.bound[e.node], e.d, e.aux, heap.bound());
      ids_.clear();
      for (int j = 0; j < nc; ++j) {
        const std::int32_t c = f + j;
        if ((predecessor && v_.layout.min_id[c] >= qid) || visit.child_excluded(v_.layout.child[c])) ++cnt.pruned;
        else ids_.push_back(c);
      }
      Rows kids = static_cast<int>(ids_.size()) == nc ? Rows::range(f, nc)
                                                       : Rows::list(ids_.data(), static_cast<int>(ids_.size()));
      if (kids.count == 0) continue;
      if (dist_.size() < static_cast<size_t>(kids.count)) {
        dist_.resize(kids.count);
        aux_.resize(kids.count);
      }
      v_.space.evaluate(qs, Rows::range(qrow, 1), kids, dist_.data(), aux_.data(), kids.count, scratch_);
      cnt.evaluations += kids.count;
      for (int j = 0; j < kids.count; ++j) cnt.count_level(v_.t.scale.top() - v_.t.level[kids[j]]);
      for (int j = 0; j < kids.count; ++j) offer(heap, static_cast<std::int32_t>(kids[j]), dist_[j], qid, predecessor);
      for (int j = 0; j < kids.count; ++j) push_if_open(q, static_cast<std::int32_t>(kids[j]), dist_[j], aux_[j], heap, cnt);
    }
  }

 private:
  struct Entry {
    double key;  // lower bound on distances in the subtree (ordering only)
    double d, aux;
    std::int32_t node;
    bool operator<(const Entry& o) const { return key > o.key || (key == o.key && node > o.node); }  // min-heap
  };

  void offer(TopK& heap, std::int32_t node, double d, index_t qid, bool predecessor) const {
    const index_t id = v_.space.id(node);
    if (predecessor && id >= qid) return;
    if (d <= heap.bound()) heap.push(d, id);
  }

  void push_if_open(const typename PruneBounds<Space>::Query& q, std::int32_t node, double d, double aux,
                    const TopK& heap, SearchCounters& cnt) {
    if (v_.layout.child_count[node] == 0) return;
    if (v_.bounds.excluded(q, v_.t.bound[node], d, aux, heap.bound())) {
      ++cnt.pruned;
      return;
    }
    pq_.push(Entry{d - PruneBounds<Space>::radius(v_.t.bound[node]), d, aux, node});
  }

  const TreeView<Space>& v_;
  typename Space::Scratch scratch_;
  std::priority_queue<Entry> pq_;
  std::vector<double> dist_, aux_;
  std::vector<index_t> ids_;
};

}  // namespace pcct::tree
