#pragma once
// Exact k-NN for a block of queries, traversing the tree in rounds shared by the whole block
// (docs/tree.md, "Batched queries"). Each round, every query pops the most promising nodes of its
// own frontier (a heap ordered by a lower bound of their subtrees), first_width (4) in the first
// round and geometrically more in later ones: close to best-first, so the k-th distance drops early and
// prunes about as well as a one-query best-first search (which it replaced; commit d76bac1
// has it), in O(log n) rounds. The expansions of a round
// are grouped by node, and the children of a node are evaluated for all the queries that
// expand it as one distance tile: a V row fetched from memory serves many queries, and the
// tiles run through the register-blocked dot kernel. Pruning tests are the same as in the
// single-query search, so the answer is exact; the order of work is fixed for a given block,
// so answers and counters do not depend on the thread count.
//
// A query given a seed bound (an upper bound of its final k-th distance, tree/seed_bounds.hpp)
// prunes with a near-final threshold from the start, so best-first order buys it nothing: it
// expands its whole frontier every round (breadth-first), and the queries of a block that
// reach the same node in the same round share one tile (gold: tiles twice as large, and 12%
// less time than best-first with the same seeds; docs/tree.md, "Seed bounds").
#include <algorithm>
#include <limits>
#include <vector>

#include "simd/dispatch.hpp"
#include "tree/block_answers.hpp"
#include "tree/tree_view.hpp"

namespace pcct::tree {

// Nodes with more children than this are expanded as one rectangle (every expanding query by
// every needed child): for the wide root this keeps one dense tile; narrower nodes get one
// tile per distinct set of needed children (measured: the two cost the same time on gold, the
// masks compute 30-40% fewer distances).
constexpr int kRectangleAbove = 64;
static_assert(kRectangleAbove <= 64, "group_masks() reads one 64-bit mask word per query");
struct BatchSearchOptions {
  int first_width = 4;   // nodes a query expands in the first round
  double growth = 2.0;   // each round a query may expand `growth` times more nodes
};

template <class Space>
class BatchSearcher {
 public:
  BatchSearcher(const TreeView<Space>& view, BatchSearchOptions opt = {}) : v_(view), opt_(opt) {}

  /// Queries i = 0..nq-1 are row qrows[i] of qs with dataset id qids[i] (-1 for new points).
  /// Writes k sorted neighbours per query to out_ids/out_dist and adds evaluations to evals[i].
  /// seed (may be null): per query, an upper bound of its final k-th distance, or +inf.
  void search(const Space& qs, const index_t* qrows, const index_t* qids, int nq, int k, bool predecessor,
              index_t* out_ids, double* out_dist, std::int64_t* evals, SearchCounters& cnt,
              const double* seed = nullptr) {
    prepare(qs, qrows, nq, k, seed);
    const std::int32_t root = v_.t.root;
    // The root, for every query that may have an admissible point.
    rows_.clear();
    for (int i = 0; i < nq; ++i)
      if (!predecessor || v_.layout.min_id[root] < qids[i]) rows_.push_back(qrows[i]), qidx_.push_back(i);
    if (!rows_.empty()) {
      tile(qs, static_cast<int>(rows_.size()), Rows::range(root, 1), dist_, aux_);
      for (size_t r = 0; r < rows_.size(); ++r) {
        const int i = qidx_[r];
        ++evals[i];
        cnt.count_level(0);
        offer(i, root, dist_[r], qids[i], predecessor);
        Entry e;
        if (open(i, root, dist_[r], aux_[r], cnt, e)) frontier_[i].push(e);
      }
    }
    double width = opt_.first_width;
    for (int round = 0;; ++round, width *= opt_.growth) {
      // Pick this round's expansions: each query pops up to `width` nodes it cannot exclude.
      exp_.clear();
      const size_t cap = width < 1e18 ? std::max<size_t>(1, static_cast<size_t>(width)) : SIZE_MAX;
      for (int i = 0; i < nq; ++i) {
        auto& f = frontier_[i];
        const size_t cap_i = f.flat ? SIZE_MAX : cap;
        size_t taken = 0;
        Entry e;
        while (taken < cap_i && f.pop(e)) {
          if (v_.bounds.excluded(ans_.query(i), v_.t.bound[e.node], e.d, e.aux, bound(i))) {
            ++cnt.pruned;
            continue;
          }
          exp_.push_back(Expansion{e.node, i, e.d, e.aux});
          ++taken;
        }
      }
      if (exp_.empty()) break;
      group_by_node();
      for (size_t g0 = 0; g0 < exp_.size();) {
        size_t g1 = g0;
        while (g1 < exp_.size() && exp_[g1].node == exp_[g0].node) ++g1;
        expand_group(qs, qrows, qids, predecessor, g0, g1, evals, cnt);
        g0 = g1;
      }
    }
    ans_.write(nq, k, out_ids, out_dist);
  }

 private:
  struct Entry {
    double key;  // lower bound of distances in the subtree (ordering only)
    double d, aux;
    std::int32_t node;
  };
  struct Later {  // heap order: the smallest key (then node) on top
    bool operator()(const Entry& a, const Entry& b) const { return a.key > b.key || (a.key == b.key && a.node > b.node); }
  };
  struct Expansion {
    std::int32_t node;
    int q;
    double d, aux;
    bool operator<(const Expansion& o) const { return node < o.node || (node == o.node && q < o.q); }
  };

  void prepare(const Space& qs, const index_t* qrows, int nq, int k, const double* seed) {
    if (static_cast<int>(frontier_.size()) < nq) frontier_.resize(nq);
    ans_.prepare(v_.bounds, qs, qrows, nq, k, seed);
    for (int i = 0; i < nq; ++i) {
      frontier_[i].clear();
      frontier_[i].flat = ans_.seeded(i);
    }
    qidx_.clear();
  }

  // Evaluates rows_ (query rows) x cols into dist/aux (row-major, leading dimension cols.count).
  void tile(const Space& qs, int nrows, Rows cols, std::vector<double>& dist, std::vector<double>& aux) {
    const size_t need = static_cast<size_t>(nrows) * cols.count;
    if (dist.size() < need) {
      dist.resize(need);
      aux.resize(need);
    }
    v_.space.evaluate(qs, Rows::list(rows_.data(), nrows), cols, dist.data(), aux.data(), cols.count, scratch_);
  }

  double bound(int i) const { return ans_.bound(i); }
  // Offers node to query i's answer.
  void offer(int i, std::int32_t node, double d, index_t qid, bool predecessor) {
    ans_.offer(v_.space, i, node, d, qid, predecessor);
  }
  // The frontier entry of an evaluated node whose subtree may still matter (after its whole
  // tile was offered, so the exclusion test sees the updated k-th distance).
  bool open(int i, std::int32_t node, double d, double aux, SearchCounters& cnt, Entry& e) const {
    if (v_.layout.child_count[node] == 0) return false;
    if (v_.bounds.excluded(ans_.query(i), v_.t.bound[node], d, aux, bound(i))) {
      ++cnt.pruned;
      return false;
    }
    e = Entry{d - PruneBounds<Space>::radius(v_.t.bound[node]), d, aux, node};
    return true;
  }

  // Expands node a for the queries exp_[g0, g1): evaluates each query's needed children.
  // Queries needing the same children share one tile (rows x their children), so no pair is
  // computed that the query does not need, and a V row is still read once per tile.
  void expand_group(const Space& qs, const index_t* qrows, const index_t* qids, bool predecessor, size_t g0,
                    size_t g1, std::int64_t* evals, SearchCounters& cnt) {
    const std::int32_t a = exp_[g0].node;
    const std::int32_t f = v_.layout.first_child[a];
    const int nc = v_.layout.child_count[a];
    const int words = (nc + 63) / 64;
    masks_.assign(static_cast<size_t>(g1 - g0) * words, 0);
    order_.clear();
    for (size_t g = g0; g < g1; ++g) {
      const Expansion& e = exp_[g];
      ++cnt.visited;
      const int i = e.q;
      const Visit visit = v_.bounds.visit(ans_.query(i), v_.t.bound[a], e.d, e.aux, bound(i));
      std::uint64_t* m = masks_.data() + (g - g0) * words;
      simd::ChildArgs ca;
      ca.n = nc;
      ca.lo = v_.layout.child_lo.data() + f;
      ca.hi = v_.layout.child_hi.data() + f;
      ca.reach = v_.layout.child_reach.data() + f;
      ca.min_id = v_.layout.min_id.data() + f;
      ca.visit_lo = visit.lo;
      ca.visit_hi = visit.hi;
      ca.thr = visit.thr;
      if (predecessor) ca.id_limit = qids[i];
      const int needed = simd_.child_mask(ca, m);
      cnt.pruned += nc - needed;
      if (needed) order_.push_back(static_cast<std::int32_t>(g - g0));
    }
    if (nc > kRectangleAbove || a == v_.t.root) {
      // A wide node (the root): one tile of every query by every child any of them needs;
      // the extra pairs are exact distances too, and offer()/open() filter what is admissible.
      any_.assign(words, 0);
      for (std::int32_t o : order_)
        for (int w = 0; w < words; ++w) any_[w] |= masks_[static_cast<size_t>(o) * words + w];
      take_rows(order_.data(), order_.data() + order_.size(), qrows, g0);
      take_cols(any_.data(), f, nc);
      if (!rows_.empty() && !cols_.empty()) evaluate_tile(qs, qids, predecessor, a, evals, cnt);
      return;
    }
    // One tile per distinct mask (one word: at most 64 children), in order of first appearance.
    group_masks();
    for (size_t run = 0; run + 1 < run_start_.size(); ++run) {
      take_rows(grouped_.data() + run_start_[run], grouped_.data() + run_start_[run + 1], qrows, g0);
      take_cols(&run_mask_[run], f, nc);
      evaluate_tile(qs, qids, predecessor, a, evals, cnt);
    }
  }

  // Groups order_ by its (one-word) masks: run r has mask run_mask_[r] and the expansions
  // grouped_[run_start_[r], run_start_[r + 1]), in order (a stable counting sort). Masks are
  // found in a small open-addressing table, stamped per call instead of cleared (a sort of the
  // masks cost ~6% of gold's time).
  void group_masks() {
    const size_t n = order_.size();
    int bits = 4;
    while ((size_t{1} << bits) < 2 * n) ++bits;
    const size_t cap = size_t{1} << bits;
    if (slot_stamp_.size() < cap) {
      slot_stamp_.assign(cap, 0);  // stamps restart: no slot may look current
      slot_run_.resize(cap);
      stamp_ = 0;
    }
    ++stamp_;
    run_mask_.clear();
    run_start_.clear();
    run_of_.resize(n);
    for (size_t r = 0; r < n; ++r) {
      const std::uint64_t m = masks_[order_[r]];
      size_t h = static_cast<size_t>(((m ^ (m >> 31)) * 0x9E3779B97F4A7C15ull) >> (64 - bits));
      while (slot_stamp_[h] == stamp_ && run_mask_[slot_run_[h]] != m) h = (h + 1) & (cap - 1);
      if (slot_stamp_[h] != stamp_) {
        slot_stamp_[h] = stamp_;
        slot_run_[h] = static_cast<std::int32_t>(run_mask_.size());
        run_mask_.push_back(m);
        run_start_.push_back(0);
      }
      run_of_[r] = slot_run_[h];
      ++run_start_[slot_run_[h]];
    }
    std::int32_t offset = 0;  // counts -> starts, then one past the end
    for (auto& c : run_start_) {
      const std::int32_t count = c;
      c = offset;
      offset += count;
    }
    run_start_.push_back(offset);
    grouped_.resize(n);
    for (size_t r = 0; r < n; ++r) grouped_[run_start_[run_of_[r]]++] = order_[r];
    for (size_t run = run_start_.size() - 1; run > 0; --run) run_start_[run] = run_start_[run - 1];
    run_start_[0] = 0;
  }

  // Tile rows: the queries of expansions exp_[g0 + o] for o in [first, last).
  void take_rows(const std::int32_t* first, const std::int32_t* last, const index_t* qrows, size_t g0) {
    rows_.clear();
    qidx_.clear();
    for (; first != last; ++first) {
      const int i = exp_[g0 + *first].q;
      rows_.push_back(qrows[i]);
      qidx_.push_back(i);
    }
  }
  // Tile columns: the children f + j whose bit j is set in mask.
  void take_cols(const std::uint64_t* mask, std::int32_t f, int nc) {
    cols_.clear();
    for (int j = 0; j < nc; ++j)
      if (mask[j >> 6] >> (j & 63) & 1) cols_.push_back(f + j);
  }

  // Evaluates rows_ x cols_ (children of a), offers every pair, then opens the children worth
  // expanding.
  void evaluate_tile(const Space& qs, const index_t* qids, bool predecessor, std::int32_t a, std::int64_t* evals,
                     SearchCounters& cnt) {
    const int nr = static_cast<int>(rows_.size()), ncol = static_cast<int>(cols_.size());
    const bool contiguous = cols_.back() - cols_.front() + 1 == ncol;
    const Rows cols = contiguous ? Rows::range(cols_.front(), ncol) : Rows::list(cols_.data(), ncol);
    // The root tile goes straight into the block's kept copy (the largest buffers: one copy).
    const bool root = a == v_.t.root;
    tile(qs, nr, cols, root ? top_d_ : dist_, root ? top_a_ : aux_);
    const double* dist = root ? top_d_.data() : dist_.data();
    // Each row is a different query (a node is expanded once per query), so offering every row
    // before opening any sees the same k-th distances as offering and opening row by row.
    for (int r = 0; r < nr; ++r) {
      const int i = qidx_[r];
      evals[i] += ncol;
      const double* dr = dist + static_cast<size_t>(r) * ncol;
      // Most pairs are farther than the threshold: test against a local copy, which changes
      // only when a pair enters the answer.
      double t = bound(i);
      for (int j = 0; j < ncol; ++j)
        if (dr[j] <= t) {
          offer(i, static_cast<std::int32_t>(cols_[j]), dr[j], qids[i], predecessor);
          t = bound(i);
        }
    }
    for (int j = 0; j < ncol; ++j) cnt.count_level(v_.t.scale.top() - v_.t.level[cols_[j]], nr);
    if (root) {
      keep_root_tile(qids, predecessor, cnt);
      return;
    }
    for (int r = 0; r < nr; ++r) {
      const int i = qidx_[r];
      const double* dr = dist_.data() + static_cast<size_t>(r) * ncol;
      const double* ar = aux_.data() + static_cast<size_t>(r) * ncol;
      Frontier& fr = frontier_[i];
      for (int j = 0; j < ncol; ++j) {
        const auto c = static_cast<std::int32_t>(cols_[j]);
        if (predecessor && v_.layout.min_id[c] >= qids[i]) continue;  // nothing admissible below
        Entry e;
        if (open(i, c, dr[j], ar[j], cnt, e)) fr.push(e);
      }
    }
  }

  // The root's children (already offered): kept for the block and ordered, not opened, for
  // each query's frontier; entries are made when popped, so the ~2k children of the root cost
  // two linear passes. A flat (seeded) query takes them all in the next round: no order.
  void keep_root_tile(const index_t* qids, bool predecessor, SearchCounters& cnt) {
    const int nr = static_cast<int>(rows_.size()), ncol = static_cast<int>(cols_.size());
    top_cols_ = cols_;
    top_rad_.resize(ncol);
    for (int j = 0; j < ncol; ++j) top_rad_[j] = PruneBounds<Space>::radius(v_.t.bound[cols_[j]]);
    constexpr int kBuckets = 64;
    bucket_count_.resize(kBuckets + 1);
    for (int r = 0; r < nr; ++r) {
      const int i = qidx_[r];
      const double* dr = top_d_.data() + static_cast<size_t>(r) * ncol;
      Frontier& fr = frontier_[i];
      fr.td = dr;
      fr.ta = top_a_.data() + static_cast<size_t>(r) * ncol;
      fr.cols = top_cols_.data();
      fr.rad = top_rad_.data();
      auto keep = [&](int j) {
        const auto c = static_cast<std::int32_t>(cols_[j]);
        return v_.layout.child_count[c] > 0 && !(predecessor && v_.layout.min_id[c] >= qids[i]);
      };
      fr.order.clear();
      if (fr.flat) {
        // Takes every kept child next round, in column order. Nothing is offered in between,
        // so the exclusion test the pop would make is made here, without making entries.
        const double t = bound(i);
        for (int j = 0; j < ncol; ++j) {
          if (!keep(j)) continue;
          if (v_.bounds.excluded(ans_.query(i), v_.t.bound[cols_[j]], dr[j], fr.ta[j], t)) ++cnt.pruned;
          else fr.order.push_back(j);
        }
        continue;
      }
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (int j = 0; j < ncol; ++j) {
        const double key = dr[j] - top_rad_[j];
        lo = std::min(lo, key);
        hi = std::max(hi, key);
      }
      const double scale = hi > lo ? (kBuckets - 1) / (hi - lo) : 0.0;
      auto bucket = [&](int j) { return static_cast<int>((dr[j] - top_rad_[j] - lo) * scale); };
      std::fill(bucket_count_.begin(), bucket_count_.end(), 0);
      for (int j = 0; j < ncol; ++j)
        if (keep(j)) ++bucket_count_[bucket(j) + 1];
      for (int b = 0; b < kBuckets; ++b) bucket_count_[b + 1] += bucket_count_[b];
      fr.order.resize(bucket_count_[kBuckets]);
      for (int j = 0; j < ncol; ++j)
        if (keep(j)) fr.order[bucket_count_[bucket(j)]++] = j;
    }
  }

  // Stable counting sort of exp_ by node (expansions are generated in query order, so each
  // node's group lists its queries in order: the order of work is deterministic).
  void group_by_node() {
    group_by_key(exp_, [](const Expansion& e) { return e.node; }, static_cast<size_t>(v_.space.size()), count_,
                 touched_, sorted_exp_);
  }

  const TreeView<Space>& v_;
  BatchSearchOptions opt_;
  const simd::Table& simd_ = simd::table();
  std::vector<std::int64_t> count_;  // a round may hold more than 2^31 expansions (block x N)
  std::vector<std::int32_t> touched_;
  std::vector<Expansion> sorted_exp_;
  typename Space::Scratch scratch_;
  // Per query: the root's children, read lazily from the block's root tile in approximate key
  // order (a 64-bucket counting sort: two linear passes), and a heap of the nodes pushed later;
  // popping takes the smaller head of the two. A flat (seeded) query pops everything every
  // round, so its "heap" is a plain stack.
  struct Frontier {
    std::vector<std::int32_t> order;  // columns of the root tile, bucketed by key
    size_t cursor = 0;
    const double* td = nullptr;       // this query's row of the root tile: distances
    const double* ta = nullptr;       // ... and |rho|
    const index_t* cols = nullptr;    // tile column -> node
    const double* rad = nullptr;      // tile column -> subtree radius
    std::vector<Entry> heap;
    bool flat = false;                // seeded: expands its whole frontier each round

    Entry top_entry(std::int32_t j) const {
      return Entry{td[j] - rad[j], td[j], ta[j], static_cast<std::int32_t>(cols[j])};
    }
    bool pop(Entry& out) {
      if (cursor < order.size()) {
        const Entry e = top_entry(order[cursor]);
        if (heap.empty() || flat || !Later{}(e, heap.front())) {
          ++cursor;
          out = e;
          return true;
        }
      }
      if (heap.empty()) return false;
      if (!flat) std::pop_heap(heap.begin(), heap.end(), Later{});
      out = heap.back();
      heap.pop_back();
      return true;
    }
    void push(const Entry& e) {
      heap.push_back(e);
      if (!flat) std::push_heap(heap.begin(), heap.end(), Later{});
    }
    void clear() {
      order.clear();
      heap.clear();
      cursor = 0;
      td = ta = rad = nullptr;
      cols = nullptr;
    }
  };
  // The root tile, kept for the whole block (its columns feed every query's frontier).
  std::vector<double> top_d_, top_a_, top_rad_;
  std::vector<index_t> top_cols_;
  std::vector<std::int32_t> bucket_count_;
  std::vector<Frontier> frontier_;
  BlockAnswers<Space> ans_;
  std::vector<Expansion> exp_;
  std::vector<index_t> rows_, cols_;
  std::vector<int> qidx_;
  std::vector<std::uint64_t> masks_, any_;
  std::vector<std::int32_t> order_;
  // group_masks(): the mask table and the runs it finds.
  std::vector<std::uint64_t> slot_stamp_, run_mask_;
  std::uint64_t stamp_ = 0;
  std::vector<std::int32_t> slot_run_, run_of_, run_start_, grouped_;
  std::vector<double> dist_, aux_;
};

}  // namespace pcct::tree
