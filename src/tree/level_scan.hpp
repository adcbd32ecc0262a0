#pragma once
// Exact k-NN for a block of queries by scanning the top of the cover tree (docs/tree.md,
// "The level scan"). On the residual metric the tree walk (batch_search.hpp) evaluates every
// child of the root and then, in narrow tiles with bookkeeping for every node, the children
// of the ~650 it cannot exclude. The scan evaluates the cluster centres (clusters.hpp: every
// node down to the cluster level) in dense tiles that run near the dot kernel's peak, and then
// only the members of the clusters it cannot exclude. It computes more distances than the
// walk (gold: 7,374 against 5,454 per query) in less time (0.100-0.107 s against 0.115-0.128 s).
//
// 1a. The top centres (above the cluster level), block x 128 columns at a time: every centre
//     is offered to every query, and each query records whether the centre's subtree may
//     still hold a neighbour.
// 1b. The centres at the cluster level, in depth-first order and chunks of at most kBottomChunk
//     whole sibling groups, for the queries that have not excluded the subtree of one of the
//     chunk's parents.
//     In 1a and 1b a cluster the query cannot exclude (the tree walk's rigorous test, with the
//     cluster's own bound) joins the query's list.
// 2.  Each list is re-tested with the query's threshold after step 1; the (query, cluster)
//     pairs are grouped by cluster, and a cluster's members are evaluated for its queries as
//     one tile and offered.
// Exactness: a point is dropped only inside a subtree or cluster whose every point is farther
// than a number that bounds the query's final k-th distance from above, as in the tree walk.
// The order of work depends only on the block, so answers and counters do not depend on the
// number of threads. Counters: nodes_visited = (query, cluster) pairs whose members are
// evaluated, subtrees_pruned = clusters excluded.
#include <algorithm>
#include <limits>
#include <vector>

#include "tree/block_answers.hpp"
#include "tree/clusters.hpp"
#include "tree/tree_view.hpp"

namespace pcct::tree {

template <class Space>
class LevelScanSearcher {
 public:
  // Top centres per dense tile, evaluated kRowTile queries at a time: 128 x 128 keeps a
  // tile's 1 MB of V rows in L2, as in the brute force (brute_force.cpp).
  static constexpr int kChunk = 128;
  static constexpr int kRowTile = 128;
  // Bottom centres per tile, at most: whole sibling groups (same parent) while they fit, so a
  // chunk has few parents and a query whose parents are all excluded skips it. Narrower
  // chunks skip more centres but make narrower tiles (gold, 2 threads: 8: 0.100 s, 7,336
  // evaluations per query; 6: 0.103-0.106 s, 7,192; 4: one thread 4% slower; chunks of 8 not
  // aligned to sibling groups: 0.102-0.103 s, 7,998; of 16-128: 0.104-0.111 s, 8,608-10,392).
  static constexpr int kBottomChunk = 8;

  LevelScanSearcher(const TreeView<Space>& view, const Clusters<Space>& clusters) : v_(view), c_(clusters) {}

  /// Same contract as BatchSearcher::search.
  void search(const Space& qs, const index_t* qrows, const index_t* qids, int nq, int k, bool predecessor,
              index_t* out_ids, double* out_dist, std::int64_t* evals, SearchCounters& cnt,
              const double* seed = nullptr) {
    ans_.prepare(v_.bounds, qs, qrows, nq, k, seed);
    if (static_cast<int>(lists_.size()) < nq) lists_.resize(nq);
    compacted_.assign(nq, 0);
    for (int i = 0; i < nq; ++i) lists_[i].clear();
    const index_t m = c_.size();
    rows_.assign(qrows, qrows + nq);
    // 1a: the centres above the cluster level, for every query; each also records whether
    // its whole subtree may still hold a neighbour.
    const index_t ntop = c_.top;
    alive_.assign(static_cast<size_t>(nq) * ntop, 0);
    for (index_t c0 = 0; c0 < ntop; c0 += kChunk) {
      const int nc = static_cast<int>(std::min<index_t>(kChunk, ntop - c0));
      for (int r0 = 0; r0 < nq; r0 += kRowTile)
        tile(qs, r0, std::min(kRowTile, nq - r0), Rows::list(c_.centre.data() + c0, nc));
      scan_chunk(c0, nc, nq, qids, predecessor, evals, cnt, true);
    }
    // 1b: the centres at the cluster level, in depth-first chunks, for the queries that have
    // not excluded the subtree of one of the chunk's parents.
    for (index_t c0 = ntop, c1; c0 < m; c0 = c1) {
      c1 = sibling_chunk_end(c_.parent_slot, c0, kBottomChunk);
      const int nc = static_cast<int>(c1 - c0);
      parents_.clear();
      bool all = false;
      for (int j = 0; j < nc; ++j) {
        const std::int32_t p = c_.parent_slot[c0 + j];
        if (p < 0) all = true;
        else if (parents_.empty() || parents_.back() != p) parents_.push_back(p);
      }
      rows_.clear();
      qidx_.clear();
      for (int i = 0; i < nq; ++i) {
        const char* al = alive_.data() + static_cast<size_t>(i) * ntop;
        bool need = all;
        for (size_t u = 0; !need && u < parents_.size(); ++u) need = al[parents_[u]];
        if (need) {
          rows_.push_back(qrows[i]);
          qidx_.push_back(i);
        }
      }
      const int nr = static_cast<int>(rows_.size());
      if (nr == 0) continue;
      for (int r0 = 0; r0 < nr; r0 += kRowTile)
        tile(qs, r0, std::min(kRowTile, nr - r0), Rows::list(c_.centre.data() + c0, nc));
      scan_chunk(c0, nc, nr, qids, predecessor, evals, cnt, false);
    }
    // 2: the open clusters, grouped by cluster (a stable counting sort keeps query order).
    // Whole-block groups share each member row among the most queries (groups of 8 to 64
    // queries were 12-35% slower on gold).
    pairs_.clear();
    for (int i = 0; i < nq; ++i) {
      compact(i, cnt);
      for (const Open& o : lists_[i]) pairs_.push_back(Pair{o.cluster, i});
    }
    group_by_key(pairs_, [](const Pair& p) { return p.cluster; }, static_cast<size_t>(c_.size()), count_, touched_,
                 sorted_);
    for (size_t g0 = 0; g0 < pairs_.size();) {
      const std::int32_t cl = pairs_[g0].cluster;
      rows_.clear();
      qidx_.clear();
      for (; g0 < pairs_.size() && pairs_[g0].cluster == cl; ++g0) {
        rows_.push_back(qrows[pairs_[g0].q]);
        qidx_.push_back(pairs_[g0].q);
      }
      evaluate_members(qs, cl, qids, predecessor, evals, cnt);
    }
    ans_.write(nq, k, out_ids, out_dist);
  }

 private:
  struct Open {
    std::int32_t cluster;
    double d, aux;
  };
  struct Pair {
    std::int32_t cluster;
    int q;
  };

  // Offers the centres c0 .. c0 + nc - 1 (just evaluated for tile rows 0 .. nr - 1: every
  // query in 1a, the queries qidx_ in 1b) and opens the clusters the rows cannot exclude.
  void scan_chunk(index_t c0, int nc, int nr, const index_t* qids, bool predecessor, std::int64_t* evals,
                  SearchCounters& cnt, bool top_part) {
    const index_t ntop = c_.top;
    for (int r = 0; r < nr; ++r) {
      const int i = top_part ? r : qidx_[r];
      evals[i] += nc;
      const double* dr = dist_.data() + static_cast<size_t>(r) * nc;
      const double* ar = aux_.data() + static_cast<size_t>(r) * nc;
      double t = bound(i);
      for (int j = 0; j < nc; ++j)
        if (dr[j] <= t) {
          offer(i, c_.centre[c0 + j], dr[j], qids[i], predecessor);
          t = bound(i);
        }
      char* al = alive_.data() + static_cast<size_t>(i) * ntop;
      auto& list = lists_[i];
      for (int j = 0; j < nc; ++j) {
        const index_t cl = c0 + j;
        const index_t row = c_.centre[cl];
        if (top_part) {
          al[cl] = v_.layout.child_count[row] > 0 && !(predecessor && v_.layout.min_id[row] >= qids[i]) &&
                   !v_.bounds.excluded(ans_.query(i), v_.t.bound[row], dr[j], ar[j], t);
        } else if (c_.parent_slot[cl] >= 0 && !al[c_.parent_slot[cl]]) {
          continue;  // inside a subtree this query has excluded
        }
        if (c_.start[cl + 1] == c_.start[cl] || (predecessor && c_.min_member_id[cl] >= qids[i])) continue;
        if (v_.bounds.excluded(ans_.query(i), c_.bound[cl], dr[j], ar[j], t)) ++cnt.pruned;
        else list.push_back(Open{static_cast<std::int32_t>(cl), dr[j], ar[j]});
      }
      if (list.size() >= 2 * compacted_[i] + 64) compact(i, cnt);
    }
    const int top = v_.t.scale.top();
    for (int j = 0; j < nc; ++j) cnt.count_level(top - v_.t.level[c_.centre[c0 + j]], nr);
  }

  // Evaluates the members of cluster cl for the queries qidx_ (rows rows_) and offers them,
  // kChunk members at a time (a cluster of many duplicates can hold most of the points).
  void evaluate_members(const Space& qs, std::int32_t cl, const index_t* qids, bool predecessor, std::int64_t* evals,
                        SearchCounters& cnt) {
    const int nr = static_cast<int>(rows_.size());
    cnt.visited += nr;
    const int top = v_.t.scale.top();
    for (index_t m0 = c_.start[cl]; m0 < c_.start[cl + 1]; m0 += kChunk) {
      const int nm = static_cast<int>(std::min<index_t>(kChunk, c_.start[cl + 1] - m0));
      const index_t* mem = c_.member.data() + m0;
      tile(qs, 0, nr, Rows::list(mem, nm));
      for (int r = 0; r < nr; ++r) {
        const int i = qidx_[r];
        evals[i] += nm;
        const double* dr = dist_.data() + static_cast<size_t>(r) * nm;
        double t = bound(i);
        for (int j = 0; j < nm; ++j)
          if (dr[j] <= t) {
            offer(i, mem[j], dr[j], qids[i], predecessor);
            t = bound(i);
          }
      }
      for (int j = 0; j < nm; ++j) cnt.count_level(top - v_.t.level[mem[j]], nr);
    }
  }

  // Drops the clusters of query i's list that its current threshold excludes (the threshold
  // only falls). Run whenever the list has doubled, so a query without a seed bound, whose
  // first threshold is loose, keeps a list proportional to what it may still need.
  void compact(int i, SearchCounters& cnt) {
    auto& list = lists_[i];
    const double t = bound(i);
    size_t kept = 0;
    for (const Open& o : list) {
      if (v_.bounds.excluded(ans_.query(i), c_.bound[o.cluster], o.d, o.aux, t)) ++cnt.pruned;
      else list[kept++] = o;
    }
    list.resize(kept);
    compacted_[i] = kept;
  }

  // Evaluates rows_[r0, r0 + nrows) x cols into rows r0.. of dist_/aux_ (row-major, leading
  // dimension cols.count).
  void tile(const Space& qs, int r0, int nrows, Rows cols) {
    const size_t at = static_cast<size_t>(r0) * cols.count, need = at + static_cast<size_t>(nrows) * cols.count;
    if (dist_.size() < need) {
      dist_.resize(need);
      aux_.resize(need);
    }
    v_.space.evaluate(qs, Rows::list(rows_.data() + r0, nrows), cols, dist_.data() + at, aux_.data() + at, cols.count,
                      scratch_);
  }

  double bound(int i) const { return ans_.bound(i); }
  void offer(int i, index_t row, double d, index_t qid, bool predecessor) {
    ans_.offer(v_.space, i, row, d, qid, predecessor);
  }

  const TreeView<Space>& v_;
  const Clusters<Space>& c_;
  typename Space::Scratch scratch_;
  BlockAnswers<Space> ans_;
  std::vector<double> dist_, aux_;
  std::vector<std::vector<Open>> lists_;  // per query: the clusters it has not excluded
  std::vector<size_t> compacted_;         // list sizes after their last compaction
  std::vector<Pair> pairs_, sorted_;
  std::vector<std::int64_t> count_;
  std::vector<std::int32_t> touched_;
  std::vector<index_t> rows_;
  std::vector<int> qidx_;
  std::vector<char> alive_;             // per query and top centre: its subtree is not excluded
  std::vector<std::int32_t> parents_;
};

}  // namespace pcct::tree
