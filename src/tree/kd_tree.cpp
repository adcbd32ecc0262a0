#include "pcct/tree/kd_tree.hpp"

#include <algorithm>
#include <climits>
#include <string>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/parallel.hpp"
#include "pcct/core/errors.hpp"
#include "pcct/knn/query_rows.hpp"
#include "pcct/knn/top_k.hpp"
#include "simd/dispatch.hpp"
#include "tree/prune_bounds.hpp"
#include "tree/validation_report.hpp"

namespace pcct {
namespace {

struct KdNode {
  std::int32_t begin, end;         // rows of the subtree (tree order)
  std::int32_t left = -1, right = -1;
  int split = 0;                   // split dimension
  double cut_lo = 0, cut_hi = 0;   // largest coordinate on the left, smallest on the right
  index_t min_id = 0;              // smallest dataset id in the subtree
};

}  // namespace

struct KdTreeIndex::Impl {
  EuclideanMetric metric;
  EuclideanSpace space;  // tree order
  std::vector<KdNode> nodes;
  std::vector<double> lo, hi;  // node bounding boxes, node * dim + t
  std::vector<index_t> row_of_id;
  int dim = 0;
  int max_leaf = 0;  // largest leaf (can exceed kLeaf where all points of a box coincide)
  std::unique_ptr<tree::PruneBounds<EuclideanSpace>> bounds;  // the same rounding model as every engine

  explicit Impl(EuclideanMetric m) : metric(std::move(m)) { rebuild(metric.space()); }
  Impl(EuclideanMetric m, const EuclideanSpace& rows) : metric(std::move(m)) { rebuild(rows); }

  void rebuild(const EuclideanSpace& src) {
    PCCT_REQUIRE(src.size() < INT32_MAX, "the kd-tree holds at most 2^31 - 1 points");
    max_leaf = 0;
    nodes.clear();
    lo.clear();
    hi.clear();
    const index_t n = src.size();
    dim = src.dim();
    std::vector<index_t> order(n);
    std::iota(order.begin(), order.end(), index_t{0});
    nodes.reserve(static_cast<size_t>(2 * n / kLeaf + 8));
    build(src, order, 0, static_cast<std::int32_t>(n));
    space = src.permuted(order);
    bounds = std::make_unique<tree::PruneBounds<EuclideanSpace>>(space);
    row_of_id = row_of_each_id(space);
    // Smallest id per subtree, bottom-up: children come after their parent in `nodes`.
    for (auto nd = nodes.rbegin(); nd != nodes.rend(); ++nd) {
      if (nd->left >= 0) {
        nd->min_id = std::min(nodes[nd->left].min_id, nodes[nd->right].min_id);
        continue;
      }
      nd->min_id = std::numeric_limits<index_t>::max();
      for (std::int32_t r = nd->begin; r < nd->end; ++r) nd->min_id = std::min(nd->min_id, space.id(r));
    }
  }

  // Builds the subtree over order[begin, end) and returns its node index.
  std::int32_t build(const EuclideanSpace& s, std::vector<index_t>& order, std::int32_t begin, std::int32_t end) {
    const auto id = static_cast<std::int32_t>(nodes.size());
    nodes.push_back(KdNode{begin, end});
    lo.resize(nodes.size() * dim);
    hi.resize(nodes.size() * dim);
    int widest = 0;
    double width = -1;
    for (int t = 0; t < dim; ++t) {
      double a = std::numeric_limits<double>::infinity(), b = -a;
      for (std::int32_t i = begin; i < end; ++i) {
        const double x = s.coord(order[i], t);
        a = std::min(a, x);
        b = std::max(b, x);
      }
      lo[static_cast<size_t>(id) * dim + t] = a;
      hi[static_cast<size_t>(id) * dim + t] = b;
      if (b - a > width) {
        width = b - a;
        widest = t;
      }
    }
    if (end - begin <= kLeaf || !(width > 0)) {
      max_leaf = std::max(max_leaf, end - begin);
      return id;
    }
    const std::int32_t mid = begin + (end - begin) / 2;
    // Median by (coordinate, row): a total order, so the tree never depends on sort internals.
    std::nth_element(order.begin() + begin, order.begin() + mid, order.begin() + end, [&](index_t a, index_t b) {
      const double xa = s.coord(a, widest), xb = s.coord(b, widest);
      return xa < xb || (xa == xb && a < b);
    });
    const std::int32_t l = build(s, order, begin, mid);
    const std::int32_t r = build(s, order, mid, end);
    nodes[id].left = l;
    nodes[id].right = r;
    nodes[id].split = widest;
    nodes[id].cut_lo = hi[static_cast<size_t>(l) * dim + widest];
    nodes[id].cut_hi = lo[static_cast<size_t>(r) * dim + widest];
    return id;
  }

  // True if every point whose exact squared distance is at least lb2 (computed, with the
  // rounding slack `slack` of the incremental updates) is farther than computed distance t:
  // the Euclidean bound of every engine, for a region at distance sqrt(lb2 - slack), radius 0.
  bool excluded(double lb2, double slack, double t) const {
    return bounds->excluded({}, tree::PruneBounds<EuclideanSpace>::Node{}, std::sqrt(std::max(0.0, lb2 - slack)), 0, t);
  }
};

namespace {

// Depth-first search of one query, nearer child first. lb2 is a lower bound of the squared
// distance to the node's region, kept incrementally (per-dimension contributions in gap2):
// entering the far child changes only the split dimension's term.
struct KdSearch {
  const KdTreeIndex::Impl& im;
  const simd::Table& tab;
  simd::RowArgs args;
  const double* q;        // query coordinates
  double* gap2;           // per-dimension squared gaps of the current region
  double* dist;           // leaf distances
  TopK& heap;
  index_t qid;
  bool predecessor;
  std::int64_t evals = 0, visited = 0, pruned = 0;

  void run(std::int32_t node, double lb2, double slack) {
    const KdNode& nd = im.nodes[node];
    if ((predecessor && nd.min_id >= qid) || im.excluded(lb2, slack, heap.bound())) {
      ++pruned;
      return;
    }
    ++visited;
    if (nd.left < 0) {
      const int cnt = nd.end - nd.begin;
      args.n = cnt;
      args.xp = im.space.soa() + nd.begin;
      args.out = dist;
      tab.euclidean_row(args);
      evals += cnt;
      double bound = heap.bound();
      for (int j = 0; j < cnt; ++j) {
        if (!(dist[j] <= bound)) continue;
        const index_t id = im.space.id(nd.begin + j);
        if (predecessor && id >= qid) continue;
        heap.push(dist[j], id);
        bound = heap.bound();
      }
      return;
    }
    const int d = nd.split;
    const double v = q[d];
    const double to_left = v - nd.cut_lo, to_right = nd.cut_hi - v;  // gaps to each side's region
    const bool left_first = to_left < to_right;
    const double far_gap = left_first ? std::max(0.0, to_right) : std::max(0.0, to_left);
    run(left_first ? nd.left : nd.right, lb2, slack);
    const double old = gap2[d], now = std::max(old, far_gap * far_gap);
    const double lb2_far = lb2 - old + now;
    gap2[d] = now;
    run(left_first ? nd.right : nd.left, lb2_far, slack + 4 * tree::kUnit * (lb2 + now));
    gap2[d] = old;
  }
};

}  // namespace

KdTreeIndex::KdTreeIndex(EuclideanMetric metric) : impl_(std::make_unique<Impl>(std::move(metric))) {}

void KdTreeIndex::insert(const EuclideanSpace& points) {
  PCCT_REQUIRE(points.dim() == dim(), "inserted points have dimension ", points.dim(), ", expected ", dim());
  EuclideanSpace all = impl_->space;
  all.append(points, all.size());
  // Rows of `all` are in tree order with their dataset ids; rebuilding needs no original order.
  // Built aside and committed at the end, so a failure (e.g. bad_alloc) changes nothing.
  impl_ = std::make_unique<Impl>(impl_->metric, all);
}

std::vector<std::string> KdTreeIndex::validate() const {
  const Impl& im = *impl_;
  tree::ValidationReport rep;
  auto fail = [&](const std::string& m) { rep.fail(m); };
  const index_t n = im.space.size();
  std::vector<int> seen(n, 0);
  for (index_t r = 0; r < n; ++r) {
    const index_t id = im.space.id(r);
    if (id < 0 || id >= n || seen[id]++) fail("dataset ids are not a permutation");
    if (im.row_of_id[id] != r) fail("row lookup of id " + std::to_string(id) + " is wrong");
  }
  for (size_t u = 0; u < im.nodes.size(); ++u) {
    const KdNode& nd = im.nodes[u];
    index_t min_id = std::numeric_limits<index_t>::max();
    for (std::int32_t r = nd.begin; r < nd.end; ++r) {
      min_id = std::min(min_id, im.space.id(r));
      for (int t = 0; t < im.dim; ++t) {
        const double x = im.space.coord(r, t);
        if (!(x >= im.lo[u * static_cast<size_t>(im.dim) + t] && x <= im.hi[u * static_cast<size_t>(im.dim) + t]))
          fail("point row " + std::to_string(r) + " lies outside the box of node " + std::to_string(u));
      }
    }
    if (min_id != nd.min_id) fail("smallest id of node " + std::to_string(u) + " is wrong");
    if (nd.left < 0) continue;
    const KdNode& l = im.nodes[nd.left];
    const KdNode& r = im.nodes[nd.right];
    if (l.begin != nd.begin || l.end != r.begin || r.end != nd.end) fail("children of node " + std::to_string(u) + " do not split its rows");
    for (std::int32_t row = l.begin; row < l.end; ++row)
      if (im.space.coord(row, nd.split) > nd.cut_lo) fail("a left point exceeds the cut of node " + std::to_string(u));
    for (std::int32_t row = r.begin; row < r.end; ++row)
      if (im.space.coord(row, nd.split) < nd.cut_hi) fail("a right point is below the cut of node " + std::to_string(u));
  }
  return rep.problems;
}
KdTreeIndex::~KdTreeIndex() = default;
index_t KdTreeIndex::size() const { return impl_->space.size(); }
int KdTreeIndex::dim() const { return impl_->dim; }

KnnResult KdTreeIndex::knn(const QuerySet& queries, const KnnParams& params) const {
  const Impl& im = *impl_;
  auto q = resolve_queries(im.metric, queries, params, size());  // ids of inserted points count too
  const EuclideanSpace& qs = q.external ? *q.external : im.space;
  const index_t nq = q.count();
  const std::vector<index_t> rows = q.rows_in(im.row_of_id);
  const int k = static_cast<int>(params.k);
  KnnResult res = make_result(nq, k);
  const int threads = resolve_threads(params.n_threads);
  struct Worker {
    std::vector<Neighbour> heap;
    std::vector<double> dist, xq, gap2;
    std::int64_t visited = 0, pruned = 0;
  };
  std::vector<Worker> workers(threads);
  for (auto& w : workers) {
    w.heap.resize(k);
    w.dist.resize(im.max_leaf);
    w.xq.resize(im.dim);
    w.gap2.resize(im.dim);
  }
  const auto& tab = simd::table();
  constexpr index_t kPerTask = 32;
  parallel_for((nq + kPerTask - 1) / kPerTask, threads, [&](index_t task, int tid) {
    Worker& w = workers[tid];
    for (index_t i = task * kPerTask; i < std::min(nq, (task + 1) * kPerTask); ++i) {
      const index_t qr = rows[i], qid = q.ids[i];
      TopK heap(w.heap.data(), k);
      for (int t = 0; t < im.dim; ++t) w.xq[t] = qs.coord(qr, t);
      KdSearch search{im, tab, {}, w.xq.data(), w.gap2.data(), w.dist.data(), heap, qid, params.predecessor};
      search.args.dim = im.dim;
      search.args.xq = w.xq.data();
      search.args.ldx = im.space.size();
      // The root region's squared gaps (zero for a query inside the data's box).
      double lb2 = 0;
      for (int t = 0; t < im.dim; ++t) {
        const double g = std::max(0.0, std::max(im.lo[t] - w.xq[t], w.xq[t] - im.hi[t]));
        w.gap2[t] = g * g;
        lb2 += w.gap2[t];
      }
      search.run(0, lb2, 4 * tree::kUnit * im.dim * lb2);
      const std::int64_t evals = search.evals;
      w.visited += search.visited;
      w.pruned += search.pruned;
      res.stats.evaluations_per_query[i] = evals;
      heap.write_sorted(res.ids.data() + i * k, res.distances.data() + i * k);
    }
  });
  total_evaluations(res.stats);
  for (const auto& w : workers) {
    res.stats.nodes_visited += w.visited;
    res.stats.subtrees_pruned += w.pruned;
  }
  return res;
}

}  // namespace pcct
