#pragma once
// Deterministic parallel batch insertion into a cover tree (docs/tree.md, "Construction").
//
// Points are inserted in a fixed priority order, in rounds of growing size (prefix doubling:
// a round holds at most as many points as the tree already has, capped at kMaxBatch).
// In a round every point searches the current tree, read-only and in parallel, for its
// insertion level and parent. Two points of the round conflict when inserting one could
// change the other's result; the lexicographically-first maximal independent set of the
// conflict graph (in priority order) is inserted, the rest retry next round. Points inserted
// together do not interact, so each gets exactly the level and parent its search found; the
// result depends only on the (fixed) priority order and round sizes (a point's search reads
// only the tree, so how a round is cut into tasks does not matter), so the tree is identical
// for every thread count.
#include <algorithm>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "core/parallel.hpp"
#include "pcct/metric/rows.hpp"
#include "tree/dynamic_tree.hpp"

namespace pcct::tree {

struct BuildStats {
  std::int64_t distance_evaluations = 0;
  std::int64_t rounds = 0;
  std::int64_t retries = 0;  // points that lost a conflict and searched again
};

template <class Space>
class BatchInserter {
 public:
  static constexpr int kMaxBatch = 512;
  // Points per search task, cut from the round by median splits (split_spatially). Gold tree
  // build, two threads, medians of 5 interleaved runs: 256 points in priority order 0.739 s,
  // spatial chunks of 256 0.717 s, of 128 0.685 s, of 64 0.743 s.
  static constexpr int kChunk = 128;
  static constexpr int kSlice = 256;    // children per distance tile

  BatchInserter(DynamicTree<Space>& t, const Space& s, const PruneBounds<Space>& pb, int threads)
      : t_(t), s_(s), pb_(pb), threads_(threads), scratch_(threads) {}

  /// Inserts `rows` (build-space rows, in priority order). The tree must already have a
  /// root whose level covers every row (scale.radius(top) >= d(root, row)).
  void insert(std::span<const std::int32_t> rows, BuildStats& stats) {
    std::vector<std::int32_t> pending(rows.begin(), rows.end());
    size_t start = 0;
    while (start < pending.size()) {
      const size_t cap = static_cast<size_t>(std::clamp<index_t>(t_.count, 1, kMaxBatch));
      const size_t b = std::min(cap, pending.size() - start);
      std::span<const std::int32_t> batch(pending.data() + start, b);
      search(batch, stats);
      const std::vector<char>& win = winners(batch, stats);
      commit(batch, win, stats);
      // Losers keep their priority order and go first in the next round.
      losers_.clear();
      for (size_t i = 0; i < b; ++i)
        if (!win[i]) losers_.push_back(batch[i]);
      start += b - losers_.size();
      std::copy(losers_.begin(), losers_.end(), pending.begin() + static_cast<std::ptrdiff_t>(start));
      stats.retries += static_cast<std::int64_t>(losers_.size());
      ++stats.rounds;
    }
  }

 private:
  struct Found {
    int level;          // best level l_y = level_of(d(x, y)) among covering nodes y
    double dist;
    std::int32_t node;
    bool better_than(int l, double d, std::int32_t n) const {  // is (l, d, n) better?
      return l < level || (l == level && (d < dist || (d == dist && n < node)));
    }
  };
  struct Group {
    std::int32_t node;
    size_t begin, end;  // range in the point list of its layer
  };
  struct Scratch {
    typename Space::Scratch space;
    std::vector<index_t> rows, kids, group_rows;
    std::vector<double> dist, aux;
    std::vector<Group> groups, next_groups;
    std::vector<std::int32_t> pts, next_pts;  // indices into the chunk
    std::vector<std::int32_t> slots;          // chunk index -> batch index
    std::vector<typename PruneBounds<Space>::Query> queries;
    std::int64_t evaluations = 0;
  };

  // Exact search of the current tree for each batch point's insertion level and parent.
  void search(std::span<const std::int32_t> batch, BuildStats& stats) {
    found_.assign(batch.size(), Found{0, 0, -1});
    // Chunks of spatially close points (median splits of the batch): a chunk's points then
    // share more of the nodes they expand, so its tiles are wider. A point's result does not
    // depend on its chunk, so the tree is the same.
    slot_.resize(batch.size());
    std::iota(slot_.begin(), slot_.end(), 0);
    split_spatially(batch, 0, batch.size());
    const index_t chunks = (static_cast<index_t>(batch.size()) + kChunk - 1) / kChunk;
    parallel_for(chunks, threads_, [&](index_t c, int tid) {
      const size_t b0 = static_cast<size_t>(c) * kChunk;
      const size_t b1 = std::min(batch.size(), b0 + kChunk);
      search_chunk(batch, b0, b1, scratch_[tid]);
    });
    collect_evaluations(stats);
  }

  // Orders slot_[lo, hi) so that every chunk is one side of a median split on the coordinate
  // of widest spread (ties by slot, so the order is fully determined).
  void split_spatially(std::span<const std::int32_t> batch, size_t lo, size_t hi) {
    if (hi - lo <= static_cast<size_t>(kChunk) || s_.dim() == 0) return;
    const size_t mid = lo + ((hi - lo) / 2 + kChunk - 1) / kChunk * kChunk;  // < hi: hi - lo > kChunk
    int axis = 0;
    double widest = -1;
    for (int t = 0; t < s_.dim(); ++t) {
      double mn = std::numeric_limits<double>::infinity(), mx = -mn;
      for (size_t i = lo; i < hi; ++i) {
        const double x = coordinate(batch[slot_[i]], t);
        mn = std::min(mn, x);
        mx = std::max(mx, x);
      }
      if (mx - mn > widest) {
        widest = mx - mn;
        axis = t;
      }
    }
    std::nth_element(slot_.begin() + static_cast<std::ptrdiff_t>(lo), slot_.begin() + static_cast<std::ptrdiff_t>(mid),
                     slot_.begin() + static_cast<std::ptrdiff_t>(hi), [&](std::int32_t a, std::int32_t b) {
                       const double xa = coordinate(batch[a], axis), xb = coordinate(batch[b], axis);
                       return xa < xb || (xa == xb && a < b);
                     });
    split_spatially(batch, lo, mid);
    split_spatially(batch, mid, hi);
  }
  double coordinate(index_t row, int t) const {
    if constexpr (requires { s_.scaled_coord(row, t); }) return s_.scaled_coord(row, t);
    else return s_.coord(row, t);
  }

  void search_chunk(std::span<const std::int32_t> batch, size_t b0, size_t b1, Scratch& sc) {
    const int n = static_cast<int>(b1 - b0);
    const auto& scale = t_.scale;
    sc.rows.resize(n);
    sc.queries.resize(n);
    sc.slots.resize(n);
    for (int i = 0; i < n; ++i) {
      sc.slots[i] = slot_[b0 + i];
      sc.rows[i] = batch[sc.slots[i]];
      sc.queries[i] = pb_.indexed_query(sc.rows[i]);
    }
    // Layer 0: the root (whose level covers every point).
    const std::int32_t root = t_.root;
    ensure(sc, n, 1);
    s_.evaluate(s_, Rows::list(sc.rows.data(), n), Rows::range(root, 1), sc.dist.data(), sc.aux.data(), 1, sc.space);
    sc.evaluations += n;
    sc.pts.clear();
    sc.groups.clear();
    for (int i = 0; i < n; ++i) {
      const double d = sc.dist[i];
      found_[sc.slots[i]] = Found{scale.level_of(d), d, root};
      if (expand(sc.queries[i], root, d, sc.aux[i], found_[sc.slots[i]].level)) sc.pts.push_back(i);
    }
    if (!sc.pts.empty()) sc.groups.push_back(Group{root, 0, sc.pts.size()});
    // Next layers: children of every expanded node, for the points that expanded it.
    while (!sc.groups.empty()) {
      sc.next_groups.clear();
      sc.next_pts.clear();
      for (const Group& g : sc.groups) {
        sc.kids.clear();
        for (std::int32_t c = t_.first_child[g.node]; c >= 0; c = t_.next_sibling[c]) {
          sc.kids.push_back(c);
          __builtin_prefetch(&t_.bound[c]);  // read once per child below, scattered over rows
        }
        const int np = static_cast<int>(g.end - g.begin);
        sc.group_rows.resize(np);
        for (int i = 0; i < np; ++i) sc.group_rows[i] = sc.rows[sc.pts[g.begin + i]];
        for (size_t k0 = 0; k0 < sc.kids.size(); k0 += kSlice) {
          const int nk = static_cast<int>(std::min<size_t>(kSlice, sc.kids.size() - k0));
          ensure(sc, nk, np);
          // Children as tile rows: each child's distances to the group's points are then
          // contiguous for the loop below (the distance is symmetric bit for bit: the same
          // products, squares and sums in the same order).
          s_.evaluate(s_, Rows::list(sc.kids.data() + k0, nk), Rows::list(sc.group_rows.data(), np), sc.dist.data(),
                      sc.aux.data(), np, sc.space);
          sc.evaluations += static_cast<std::int64_t>(np) * nk;
          const int floor = scale.floor();
          for (int j = 0; j < nk; ++j) {
            const auto c = static_cast<std::int32_t>(sc.kids[k0 + j]);
            const size_t before = sc.next_pts.size();
            // c covers x iff level(c) >= floor and d <= radius(level(c)) (a duplicate-level
            // node covers nothing); only then is l_c = level_of(d) needed.
            const int lc_max = t_.level[c];
            const double cover = lc_max >= floor ? scale.radius(lc_max) : -1.0;
            const bool may_expand = t_.first_child[c] >= 0 && lc_max - 1 >= floor;
            const double* drow = sc.dist.data() + static_cast<size_t>(j) * np;
            const double* arow = sc.aux.data() + static_cast<size_t>(j) * np;
            for (int i = 0; i < np; ++i) {
              const std::int32_t p = sc.pts[g.begin + i];
              const double d = drow[i];
              Found& f = found_[sc.slots[p]];
              if (d <= cover) {
                const int lc = scale.level_of(d);
                if (f.better_than(lc, d, c)) f = Found{lc, d, c};
              }
              if (may_expand && expand(sc.queries[p], c, d, arow[i], f.level)) sc.next_pts.push_back(p);
            }
            if (sc.next_pts.size() > before) sc.next_groups.push_back(Group{c, before, sc.next_pts.size()});
          }
        }
      }
      std::swap(sc.groups, sc.next_groups);
      std::swap(sc.pts, sc.next_pts);
    }
  }

  // Whether the children of c can hold a covering node better than the current best level:
  // such a node y has level(y) <= level(c) - 1 and d(x, y) <= radius(min(level(c) - 1, best)).
  // Children at the duplicate level (below floor) never cover anything, so nodes at the
  // floor level are not expanded.
  bool expand(const typename PruneBounds<Space>::Query& q, std::int32_t c, double d, double aux, int best) const {
    if (t_.level[c] - 1 < t_.scale.floor()) return false;
    const int l = std::min(t_.level[c] - 1, best);
    return !pb_.excluded(q, t_.bound[c], d, aux, t_.scale.radius(l));
  }

  // Conflicts within the batch, and the lexicographically-first maximal independent set (a
  // reference to a member, valid until the next call).
  const std::vector<char>& winners(std::span<const std::int32_t> batch, BuildStats& stats) {
    const int b = static_cast<int>(batch.size());
    std::vector<char>& win = win_;
    win.assign(b, 1);
    if (b == 1) return win;
    level_.resize(b);
    for (int i = 0; i < b; ++i) level_[i] = insertion_level(found_[i]);
    constexpr int kTile = 64;
    const int tiles = (b + kTile - 1) / kTile;
    if (static_cast<int>(edges_.size()) < tiles) edges_.resize(tiles);
    for (int ti = 0; ti < tiles; ++ti) edges_[ti].clear();  // keeps their capacity for later rounds
    rows_.assign(batch.begin(), batch.end());
    parallel_for(tiles, threads_, [&](index_t ti, int tid) {
      Scratch& sc = scratch_[tid];
      auto& out = edges_[ti];
      const int i0 = static_cast<int>(ti) * kTile, ni = std::min(kTile, b - i0);
      for (int j0 = i0; j0 < b; j0 += kTile) {
        const int nj = std::min(kTile, b - j0);
        ensure(sc, ni, nj);
        s_.evaluate(s_, Rows::list(rows_.data() + i0, ni), Rows::list(rows_.data() + j0, nj), sc.dist.data(),
                    nullptr, nj, sc.space);
        sc.evaluations += static_cast<std::int64_t>(ni) * nj;
        for (int i = 0; i < ni; ++i)
          for (int j = 0; j < nj; ++j) {
            const int a = i0 + i, c = j0 + j;
            if (c <= a) continue;
            const double d = sc.dist[static_cast<size_t>(i) * nj + j];
            if (affects(d, a, c) || affects(d, c, a)) out.emplace_back(c, a);  // (later, earlier)
          }
      }
    });
    collect_evaluations(stats);
    // Lexicographically-first MIS: a point wins unless an earlier winner conflicts with it.
    flat_edges_.clear();
    for (int ti = 0; ti < tiles; ++ti) flat_edges_.insert(flat_edges_.end(), edges_[ti].begin(), edges_[ti].end());
    std::sort(flat_edges_.begin(), flat_edges_.end());
    for (const auto& [later, earlier] : flat_edges_)
      if (win[earlier]) win[later] = 0;
    return win;
  }

  int insertion_level(const Found& f) const { return std::max(f.level - 1, t_.scale.floor() - 1); }
  // Inserting batch point a (at its level) changes point c's search result iff a would cover c
  // at a's level and be at least as good as c's current best: level_of(d) <= level(a) and
  // <= best(c), i.e. d <= radius(min(level(a), best(c))) (levels below the floor never hold).
  bool affects(double d, int a, int c) const {
    const int l = std::min(level_[a], found_[c].level);
    return l >= t_.scale.floor() && d <= t_.scale.radius(l);
  }

  void commit(std::span<const std::int32_t> batch, const std::vector<char>& win, BuildStats& stats) {
    const int b = static_cast<int>(batch.size());
    for (int i = 0; i < b; ++i) {
      if (!win[i]) continue;
      const std::int32_t x = batch[i];
      t_.level[x] = insertion_level(found_[i]);
      t_.parent_dist[x] = found_[i].dist;
      t_.link(x, found_[i].node);
      pb_.init_node(t_.bound[x], x);
      ++t_.count;
    }
    // Exact subtree bounds: every ancestor absorbs its distance to each new node. The
    // ancestors of added_[i] are anc_[offset_[i], offset_[i + 1]), nearest first.
    added_.clear();
    anc_.clear();
    offset_.assign(1, 0);
    for (int i = 0; i < b; ++i) {
      if (!win[i]) continue;
      added_.push_back(batch[i]);
      for (std::int32_t a = t_.parent[batch[i]]; a >= 0; a = t_.parent[a]) anc_.push_back(a);
      offset_.push_back(anc_.size());
    }
    chain_.resize(anc_.size());
    parallel_for(static_cast<index_t>(added_.size()), threads_, [&](index_t i, int tid) {
      Scratch& sc = scratch_[tid];
      const index_t x = added_[i];
      const int na = static_cast<int>(offset_[i + 1] - offset_[i]);
      ensure(sc, 1, na);
      s_.evaluate(s_, Rows::list(&x, 1), Rows::list(anc_.data() + offset_[i], na), sc.dist.data(), sc.aux.data(), na,
                  sc.space);
      sc.evaluations += na;
      for (int j = 0; j < na; ++j) chain_[offset_[i] + j] = {sc.dist[j], sc.aux[j]};
    });
    collect_evaluations(stats);
    for (size_t i = 0; i < added_.size(); ++i)
      for (size_t j = offset_[i]; j < offset_[i + 1]; ++j)
        pb_.absorb(t_.bound[anc_[j]], chain_[j].first, chain_[j].second, t_.bound[added_[i]]);
  }

  static void ensure(Scratch& sc, int rows, int cols) {
    const size_t need = static_cast<size_t>(rows) * cols;
    if (sc.dist.size() < need) {
      sc.dist.resize(need);
      sc.aux.resize(need);
    }
  }
  void collect_evaluations(BuildStats& stats) {
    for (auto& sc : scratch_) {
      stats.distance_evaluations += sc.evaluations;
      sc.evaluations = 0;
    }
  }

  DynamicTree<Space>& t_;
  const Space& s_;
  const PruneBounds<Space>& pb_;
  int threads_;
  std::vector<Scratch> scratch_;
  std::vector<Found> found_;
  std::vector<std::int32_t> slot_;  // the batch in chunk order: position -> batch index
  std::vector<int> level_;
  // Per-round buffers (reused across rounds).
  std::vector<std::vector<std::pair<std::int32_t, std::int32_t>>> edges_;
  std::vector<std::pair<std::int32_t, std::int32_t>> flat_edges_;
  std::vector<char> win_;
  std::vector<std::int32_t> losers_;
  std::vector<index_t> rows_, added_, anc_;
  std::vector<size_t> offset_;
  std::vector<std::pair<double, double>> chain_;
};

}  // namespace pcct::tree
