#include "pcct/tree/cover_tree.hpp"

#include <chrono>
#include <climits>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/parallel.hpp"
#include "pcct/knn/brute_force.hpp"
#include "pcct/knn/query_rows.hpp"
#include "tree/auto_memory.hpp"
#include "tree/batch_insert.hpp"
#include "tree/batch_search.hpp"
#include "tree/clusters.hpp"
#include "tree/level_scan.hpp"
#include "tree/priority_order.hpp"
#include "tree/seed_bounds.hpp"
#include "tree/spatial_order.hpp"
#include "tree/validate.hpp"
#include "tree/validate_clusters.hpp"

namespace pcct {

using tree::AutoChoice;
using tree::DynamicTree;
using tree::PruneBounds;
using tree::TreeLayout;

namespace {
// Cover-tree pruning is only valid for a metric; check what can be checked cheaply.
void require_metric(const EuclideanSpace&, index_t, index_t) {}
void require_metric(const ResidualSpace& s, index_t begin, index_t end) {
  const std::string problem = ResidualModel::metric_problem(s, begin, end);
  PCCT_REQUIRE(problem.empty(), "the cover tree needs a metric: ", problem,
               " (use algorithm='brute' for these factors)");
}
}  // namespace

template <class Metric>
struct CoverTreeIndex<Metric>::Impl {
  using Space = typename Metric::Space;

  Metric metric;
  CoverTreeParams params;
  Space space;                      // points in breadth-first tree order
  DynamicTree<Space> tree;          // rows of `space`
  std::unique_ptr<PruneBounds<Space>> bounds;
  TreeLayout<Space> layout;
  std::vector<index_t> row_of_id;   // dataset id -> row of `space`
  std::unique_ptr<tree::SeedBounds> seeds;  // residual metric, dim <= SeedBounds::kMaxDim, if enabled
  tree::Clusters<Space> clusters;   // the top of the tree cut into clusters, for the level scan
  CoverTreeBuildInfo info;
  mutable tree::AutoMemory auto_memory;  // "auto"'s engine choices from earlier calls

  Impl(Metric m, const CoverTreeParams& p) : metric(std::move(m)), params(p) {}

  // Largest distance from `root` to rows [begin, end) of s.
  static double max_distance(const Space& s, index_t root, index_t begin, index_t end, int threads) {
    constexpr int kTile = 1024;
    const index_t tiles = (end - begin + kTile - 1) / kTile;
    std::vector<double> best(tiles, 0.0);
    parallel_for(tiles, threads, [&](index_t t, int) {
      typename Space::Scratch sc;
      const index_t b = begin + t * kTile;
      const int nb = static_cast<int>(std::min<index_t>(kTile, end - b));
      std::vector<double> d(nb);
      s.evaluate(s, Rows::range(root, 1), Rows::range(b, nb), d.data(), nullptr, nb, sc);
      for (double x : d) best[t] = std::max(best[t], x);
    });
    double m = 0;
    for (double x : best) m = std::max(m, x);
    return m;
  }

  static int top_for(double base, double dmax) {
    if (!(dmax > 0)) return 0;
    int top = static_cast<int>(std::ceil(std::log(dmax) / std::log(base)));
    while (std::pow(base, top) < dmax) ++top;
    return top;
  }

  // Inserts rows [first, end) of `build` (the root must exist when first > 0) and lays out.
  // Works on copies and commits at the end, so a failure (e.g. bad_alloc) leaves the index as it was.
  void grow(const Space& build, index_t first, int threads) {
    const auto t0 = std::chrono::steady_clock::now();
    const index_t n = build.size();
    require_metric(build, first, n);
    DynamicTree<Space> t = this->tree;
    t.resize(n);
    std::vector<std::int32_t> order = tree::priority_order(first, n);
    tree::BuildStats stats;
    PruneBounds<Space> pb(build);
    if (t.root < 0) {
      const std::int32_t root = order.front();
      order.erase(order.begin());
      const double dmax = max_distance(build, root, 0, n, threads);
      stats.distance_evaluations += n;
      t.scale = tree::LevelScale(params.base, top_for(params.base, dmax));
      t.root = root;
      t.level[root] = t.scale.top();
      pb.init_node(t.bound[root], root);
      t.count = 1;
    } else {
      const double dmax = max_distance(build, t.root, first, n, threads);
      stats.distance_evaluations += n - first;
      t.scale.raise_top_to_cover(dmax);
      t.level[t.root] = t.scale.top();
    }
    for (index_t r = 0; r < first; ++r) pb.finalize(t.bound[r]);  // the error bound may have grown
    tree::BatchInserter<Space> inserter(t, build, pb, threads);
    inserter.insert(order, stats);

    const std::vector<std::int32_t> bfs = tree::breadth_first_order(t, tree::morton_keys(build));
    t = tree::renumber(t, bfs);
    std::vector<index_t> perm(bfs.begin(), bfs.end());
    Space new_space = build.permuted(perm, threads);
    auto new_bounds = std::make_unique<PruneBounds<Space>>(pb.permuted(perm));
    auto new_layout = tree::make_layout(t, new_space, *new_bounds);
    auto new_clusters = tree::make_clusters(t, new_layout, new_space, *new_bounds);
    std::vector<index_t> new_row_of_id = row_of_each_id(new_space);
    std::unique_ptr<tree::SeedBounds> new_seeds;
    if constexpr (std::is_same_v<Space, ResidualSpace>)
      if (params.seed_bounds) new_seeds = tree::SeedBounds::build(new_space, new_row_of_id);
    CoverTreeBuildInfo new_info = info;
    new_info.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    new_info.distance_evaluations += stats.distance_evaluations;
    new_info.rounds += stats.rounds;
    new_info.retries += stats.retries;
    summarise(new_info, t, new_space, new_clusters);
    // Commit (nothing below allocates).
    this->tree = std::move(t);
    space = std::move(new_space);
    bounds = std::move(new_bounds);
    layout = std::move(new_layout);
    clusters = std::move(new_clusters);
    row_of_id = std::move(new_row_of_id);
    seeds = std::move(new_seeds);
    info = std::move(new_info);
    auto_memory.clear();
  }

  // The per-level profile of a laid-out tree (allocates: called before a commit).
  static void summarise(CoverTreeBuildInfo& info, const DynamicTree<Space>& tree, const Space& space,
                        const tree::Clusters<Space>& clusters) {
    info.top_level = tree.scale.top();
    info.scan_top_centres = clusters.top;
    info.scan_centres = clusters.size();
    info.floor_level = tree.scale.floor();
    std::map<int, CoverTreeBuildInfo::Level, std::greater<>> per;
    std::vector<int> depth(space.size(), 0);
    info.height = 0;
    for (index_t r = 0; r < space.size(); ++r) {
      if (r > 0) depth[r] = depth[tree.parent[r]] + 1;
      info.height = std::max(info.height, depth[r]);
      auto& lv = per.try_emplace(tree.level[r], CoverTreeBuildInfo::Level{tree.level[r], 0, 0.0, 0.0}).first->second;
      const double rad = PruneBounds<Space>::radius(tree.bound[r]);
      ++lv.nodes;
      lv.mean_radius += rad;
      lv.max_radius = std::max(lv.max_radius, rad);
    }
    info.levels.clear();
    for (auto& [l, lv] : per) {
      lv.mean_radius /= static_cast<double>(lv.nodes);
      info.levels.push_back(lv);
    }
  }
};

template <class Metric>
CoverTreeIndex<Metric>::CoverTreeIndex(Metric metric, const CoverTreeParams& params)
    : impl_(std::make_unique<Impl>(std::move(metric), params)) {
  // Bases very close to 1 need millions of levels (LevelScale::depth_for); 1.01 already needs 3,500.
  PCCT_REQUIRE(std::isfinite(params.base) && params.base >= 1.01, "base must be a finite number >= 1.01, got ",
               params.base);
  PCCT_REQUIRE(params.engine == TreeEngine::walk || params.engine == TreeEngine::scan, "engine ",
               static_cast<int>(params.engine), " is not TreeEngine::walk or TreeEngine::scan");
  PCCT_REQUIRE(impl_->metric.space().size() < INT32_MAX, "the cover tree holds at most 2^31 - 1 points");
  // A space with no points (default-constructed, or moved from) has no root to build on.
  PCCT_REQUIRE(impl_->metric.space().size() > 0, "the cover tree needs at least one point (the metric's space is empty)");
  impl_->grow(impl_->metric.space(), 0, resolve_threads(params.n_threads));
}

template <class Metric>
CoverTreeIndex<Metric>::~CoverTreeIndex() = default;

template <class Metric>
index_t CoverTreeIndex<Metric>::size() const { return impl_->space.size(); }
template <class Metric>
int CoverTreeIndex<Metric>::dim() const { return impl_->space.dim(); }
template <class Metric>
const char* CoverTreeIndex<Metric>::algorithm_name() const {
  if (impl_->params.auto_brute) return "auto";
  return impl_->params.engine == TreeEngine::scan ? "scan" : "tree";
}
template <class Metric>
const CoverTreeBuildInfo& CoverTreeIndex<Metric>::build_info() const { return impl_->info; }
template <class Metric>
const Metric& CoverTreeIndex<Metric>::metric() const { return impl_->metric; }
template <class Metric>
typename CoverTreeIndex<Metric>::Arrays CoverTreeIndex<Metric>::arrays() const {
  const auto& im = *impl_;
  Arrays a;
  const index_t n = im.space.size();
  a.id.resize(n);
  a.level.resize(n);
  a.parent.resize(n);
  a.radius.resize(n);
  for (index_t r = 0; r < n; ++r) {
    a.id[r] = im.space.id(r);
    a.level[r] = im.tree.level[r];
    a.parent[r] = im.tree.parent[r];
    a.radius[r] = PruneBounds<typename Metric::Space>::radius(im.tree.bound[r]);
  }
  return a;
}

template <class Metric>
void CoverTreeIndex<Metric>::insert(const typename Metric::Space& points, int n_threads) {
  auto& im = *impl_;
  im.space.require_appendable(points);  // before the copy below (gold: 134 MB of V)
  const index_t first = im.space.size();
  PCCT_REQUIRE(first + points.size() < INT32_MAX, "the cover tree holds at most 2^31 - 1 points");
  typename Metric::Space build = im.space;
  build.append(points, first);
  im.grow(build, first, resolve_threads(n_threads));
}

template <class Metric>
CoverTreeValidation CoverTreeIndex<Metric>::validate(int n_threads) const {
  const auto& im = *impl_;
  auto rep = tree::validate_tree(im.tree, im.layout, im.space, *im.bounds, n_threads);
  if (rep.ok) tree::validate_clusters(im.tree, im.clusters, im.space, *im.bounds, rep);
  return CoverTreeValidation{rep.ok, rep.problems, rep.nodes, rep.distance_evaluations};
}

// Queries per block of the batched search (blocks run in parallel): kQueryBlock, or fewer so a
// call has kMinBlocks blocks. Set by the call alone, so that the blocks, and hence the order
// of work and every counter, do not depend on the thread count.
constexpr index_t kQueryBlock = 256;
constexpr index_t kFrontierBudget = index_t{512} << 20;
constexpr index_t kMinBlocks = 4;
// "auto": queries sampled to decide between the engines (all on the scan, whose answers are
// kept, and kProbeSample of them also on the walk), and the measured cost of one evaluation
// of each tree engine in brute-force evaluations. Walk: gold predecessor mode ~42 M
// evaluations/s against ~150 M/s; the split took 3.16, 3.07-3.13, 3.21 and 3.32 s for 2.5,
// 3, 3.5 and 4. Scan: its
// evaluations are mostly dense tiles (gold: 7,998 per query in 0.105 s against the walk's
// 5,454 in 0.120 s, so 0.6 x 3); docs/tree.md "auto".
constexpr index_t kAutoSample = 32;
constexpr index_t kProbeSample = 8;
constexpr double kWalkCostRatio = 3.0;
constexpr double kScanCostRatio = 1.8;
// The sample runs in two blocks, the walk's probe in one: every block of either engine streams
// the wide top of the tree (the root's children; the scan's centres) once, which small blocks
// cannot amortise (gold: 32 queries took 13 ms on the walk and 9 ms on the scan in four
// blocks of 8).
constexpr index_t kSampleBlocks = 2;
// A call too small to sample (fewer than 4 x kAutoSample queries a tree engine could answer)
// follows the engine and cost the index's last sample or probe measured for the same k and
// mode; every kFollowCalls-th such call, and the first, probes instead: up to kProbeSample of
// its queries run on both engines. Before, these calls followed a fixed rule tuned on gold,
// 3-5x slower than the walk with smooth kernels on 2-D data (docs/tree.md "auto").
constexpr int kFollowCalls = 16;

template <class Metric>
KnnResult CoverTreeIndex<Metric>::knn(const QuerySet& queries, const KnnParams& params) const {
  using Space = typename Metric::Space;
  const auto& im = *impl_;
  auto q = resolve_queries(im.metric, queries, params, size());  // ids of inserted points count too
  const Space& qs = q.external ? *q.external : im.space;
  const std::vector<index_t> rows = q.rows_in(im.row_of_id);

  // "auto": the brute force (same arithmetic, bit-identical answers) where it is cheaper:
  // small N or large k; otherwise a sample of the queries runs on the tree engines, and each
  // other query goes to the brute force when it would scan at most (the chosen engine's cost
  // ratio) x (the sample's mean evaluations on it) points, else to that engine (docs/tree.md,
  // "auto"). In predecessor mode query i scans only ids < i, so early ids go to the brute
  // force and late ones to the tree.
  if (!im.params.auto_brute) return tree_search(qs, rows, q.ids, params, im.params.engine, kMinBlocks);
  if (size() <= 2048 || params.k * 8 > size()) return brute_search(qs, rows, q.ids, params);
  return auto_search(qs, rows, q.ids, params);
}

namespace {

// Some of a call's queries: their positions in the call, their rows and their ids.
struct QuerySubset {
  std::vector<index_t> pos, rows, ids;
};

// The queries i with first(i), and the others; positions marked in `skip` go to neither.
template <class Test>
std::pair<QuerySubset, QuerySubset> split_queries(const std::vector<index_t>& rows, const std::vector<index_t>& ids,
                                                  Test&& first, const std::vector<char>& skip = {}) {
  std::pair<QuerySubset, QuerySubset> out;
  for (index_t i = 0; i < static_cast<index_t>(rows.size()); ++i) {
    if (!skip.empty() && skip[i]) continue;
    QuerySubset& to = first(i) ? out.first : out.second;
    to.pos.push_back(i);
    to.rows.push_back(rows[i]);
    to.ids.push_back(ids[i]);
  }
  return out;
}

}  // namespace

// "auto" past its fixed rules: the brute force for the queries that scan few points, a sample
// (or, in a small call, an earlier call's choice or a probe) to choose the tree engine for the others.
template <class Metric>
KnnResult CoverTreeIndex<Metric>::auto_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                                              const std::vector<index_t>& ids, const KnnParams& params) const {
  const auto& im = *impl_;
  const index_t nq = static_cast<index_t>(rows.size());
  const int k = static_cast<int>(params.k);
  // Points the brute force would scan for query i: all, or in predecessor mode the ids < i.
  auto scanned = [&](index_t i) {
    return params.predecessor ? static_cast<double>(ids[i]) : static_cast<double>(size());
  };
  // Every scanning query evaluates every top centre, and every walking one the root's
  // children: a query that scans fewer points than the cheaper of those floors goes to the
  // brute force whatever a sample says; a call of such queries only (a batched Vecchia call of
  // early ids; gold ids 0..63 took 2.2 ms on the scan, 0.2 ms on the brute force) runs no sample.
  const double root_children = static_cast<double>(im.layout.child_count[im.tree.root]);
  const double floor =
      std::min(kScanCostRatio * static_cast<double>(im.clusters.top), kWalkCostRatio * root_children);
  // The brute force for `to_brute` and `engine` for `to_tree`, merged with the sample, if any.
  auto answer = [&](QuerySubset to_brute, QuerySubset to_tree, TreeEngine engine, const Part* sample) {
    if (!sample && to_tree.pos.empty()) return brute_search(qs, rows, ids, params);
    if (!sample && to_brute.pos.empty()) return tree_search(qs, rows, ids, params, engine, kMinBlocks);
    Part brute{std::move(to_brute.pos), {}}, tree{std::move(to_tree.pos), {}};
    if (!brute.pos.empty()) brute.result = brute_search(qs, to_brute.rows, to_brute.ids, params);
    if (!tree.pos.empty()) tree.result = tree_search(qs, to_tree.rows, to_tree.ids, params, engine, kMinBlocks);
    return sample ? merge_parts(nq, k, {sample, &brute, &tree}) : merge_parts(nq, k, {&brute, &tree});
  };
  // Runs the `sampled` queries on the scan (answers kept) and, where the walk's floor is below
  // the scan's measured cost, up to kProbeSample of them on the walk as well, in one block
  // (answers dropped, evaluations in probe_evaluations): the engine that costs less on the same
  // queries is the call's tree engine, and its cost per query decides brute force or tree.
  struct Calibration {
    Part sample;
    AutoChoice choice;
  };
  // A large call probes the walk on the sample queries that the scan's cost leaves to a tree
  // engine (in predecessor mode the late ids). A small call's probe queries are close
  // together, and in an early Vecchia batch all below that cost: it probes every one the
  // walk could take (past the walk's floor), or the walk would never be tried there.
  auto calibrate = [&](const std::vector<char>& sampled, index_t blocks, bool small_call) {
    QuerySubset s = split_queries(rows, ids, [&](index_t i) { return sampled[i] != 0; }).first;
    const index_t count = static_cast<index_t>(s.pos.size());
    Calibration c{Part{s.pos, tree_search(qs, s.rows, s.ids, params, TreeEngine::scan, blocks)}, {}};
    KnnStats& st = c.sample.result.stats;
    st.sampled_queries = count;
    c.choice.cost = kScanCostRatio * static_cast<double>(st.distance_evaluations) / static_cast<double>(count);
    // The probe, evenly spread over the sample queries past probe_above.
    const double walk_floor = kWalkCostRatio * root_children;
    const double probe_above = small_call ? walk_floor : c.choice.cost;
    std::vector<index_t> tree_bound;
    for (index_t j = 0; j < count; ++j)
      if (scanned(s.pos[j]) > probe_above) tree_bound.push_back(j);
    if (tree_bound.empty() || walk_floor >= c.choice.cost) return c;
    const index_t m = static_cast<index_t>(tree_bound.size()), probes = std::min(m, kProbeSample);
    std::vector<index_t> prows, pids;
    double scan_part = 0;
    for (index_t t = 0; t < probes; ++t) {
      const index_t j = tree_bound[(2 * t + 1) * m / (2 * probes)];
      prows.push_back(s.rows[j]);
      pids.push_back(s.ids[j]);
      scan_part += static_cast<double>(st.evaluations_per_query[j]);
    }
    const KnnResult walked = tree_search(qs, prows, pids, params, TreeEngine::walk, 1);
    const double walk_part = static_cast<double>(walked.stats.distance_evaluations);
    st.probe_evaluations = walked.stats.distance_evaluations;
    st.distance_evaluations += walked.stats.distance_evaluations;
    if (kWalkCostRatio * walk_part < kScanCostRatio * scan_part) {
      c.choice.engine = TreeEngine::walk;
      c.choice.cost = kWalkCostRatio * walk_part / static_cast<double>(probes);
    }
    return c;
  };
  // The rest of the call: the brute force for queries scanning at most `cost` points.
  auto answer_rest = [&](double cost, TreeEngine engine, const std::vector<char>& sampled, const Part* sample) {
    auto [to_brute, to_tree] = split_queries(rows, ids, [&](index_t i) { return scanned(i) <= cost; }, sampled);
    return answer(std::move(to_brute), std::move(to_tree), engine, sample);
  };

  std::vector<index_t> tree_bound;  // positions of the queries a tree engine could answer
  for (index_t i = 0; i < nq; ++i)
    if (scanned(i) > floor) tree_bound.push_back(i);
  const index_t m = static_cast<index_t>(tree_bound.size());
  if (m == 0) return brute_search(qs, rows, ids, params);
  std::vector<char> sampled(nq, 0);
  if (m >= 4 * kAutoSample) {
    // Evenly spread sample queries; the choice is kept for later small calls.
    for (index_t j = 0; j < kAutoSample; ++j) sampled[j * nq / kAutoSample] = 1;
    Calibration c = calibrate(sampled, kSampleBlocks, false);
    im.auto_memory.store(k, params.predecessor, c.choice);
    return answer_rest(c.choice.cost, c.choice.engine, sampled, &c.sample);
  }
  // Too small to sample: follow the last choice for this k and mode, measuring its engine's
  // cost on this call's tree queries; the first such call, and every kFollowCalls-th, probes.
  if (const std::optional<AutoChoice> last = im.auto_memory.follow(k, params.predecessor, kFollowCalls)) {
    const double cost = std::max(floor, last->cost);
    KnnResult res = answer_rest(cost, last->engine, {}, nullptr);
    double evals = 0, on_tree = 0;  // over the queries answer_rest sent to the tree engine
    for (index_t i : tree_bound)
      if (scanned(i) > cost) {
        evals += static_cast<double>(res.stats.evaluations_per_query[i]);
        ++on_tree;
      }
    if (on_tree > 0) {
      const double ratio = last->engine == TreeEngine::walk ? kWalkCostRatio : kScanCostRatio;
      im.auto_memory.measured(k, params.predecessor, last->engine, ratio * evals / on_tree);
    }
    return res;
  }
  const index_t probes = std::min(m, kProbeSample);
  for (index_t t = 0; t < probes; ++t) sampled[tree_bound[(2 * t + 1) * m / (2 * probes)]] = 1;
  Calibration c = calibrate(sampled, 1, true);
  im.auto_memory.store(k, params.predecessor, c.choice);
  return answer_rest(c.choice.cost, c.choice.engine, sampled, &c.sample);
}

// The brute force for queries given as rows of qs (tree-order rows for dataset points, rows of
// their own space for new points) with dataset ids `ids` (-1 for new points).
template <class Metric>
KnnResult CoverTreeIndex<Metric>::brute_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                                               const std::vector<index_t>& ids, const KnnParams& params) const {
  const auto& im = *impl_;
  // The original-order points (the metric's own, shared with the model) stream through the
  // brute force faster than tree order; after an insert they lack the new points.
  const auto& orig = im.metric.space();
  const bool external = &qs != &im.space;
  if (orig.size() != size()) return brute_force_search(im.space, qs, rows, ids, params, im.row_of_id);
  if (external) return brute_force_search(orig, qs, rows, ids, params);
  return brute_force_search(orig, orig, ids, ids, params);  // dataset query: its row in orig is its id
}

// One answer from the parts that answered disjoint subsets of the queries (part.pos[j] is the
// position of the part's query j).
template <class Metric>
KnnResult CoverTreeIndex<Metric>::merge_parts(index_t nq, int k, std::initializer_list<const Part*> parts) {
  KnnResult res = make_result(nq, k);
  std::map<int, std::int64_t, std::greater<>> by_level;
  for (const Part* part : parts) {
    const KnnResult& r = part->result;
    for (size_t j = 0; j < part->pos.size(); ++j) {
      const auto at = static_cast<size_t>(part->pos[j]) * k;
      std::copy_n(r.ids.data() + j * k, k, res.ids.data() + at);
      std::copy_n(r.distances.data() + j * k, k, res.distances.data() + at);
      res.stats.evaluations_per_query[part->pos[j]] = r.stats.evaluations_per_query[j];
    }
    res.stats.distance_evaluations += r.stats.distance_evaluations;
    res.stats.nodes_visited += r.stats.nodes_visited;
    res.stats.subtrees_pruned += r.stats.subtrees_pruned;
    res.stats.brute_force_queries += r.stats.brute_force_queries;
    res.stats.seed_evaluations += r.stats.seed_evaluations;
    res.stats.scan_queries += r.stats.scan_queries;
    res.stats.probe_evaluations += r.stats.probe_evaluations;
    res.stats.sampled_queries += r.stats.sampled_queries;
    for (auto [level, count] : r.stats.evaluations_by_level) by_level[level] += count;
  }
  res.stats.evaluations_by_level.assign(by_level.begin(), by_level.end());
  return res;
}

template <class Metric>
KnnResult CoverTreeIndex<Metric>::tree_search(const typename Metric::Space& qs, const std::vector<index_t>& rows,
                                              const std::vector<index_t>& ids, const KnnParams& params,
                                              TreeEngine engine, index_t min_blocks) const {
  using Space = typename Metric::Space;
  const auto& im = *impl_;
  const index_t nq = static_cast<index_t>(rows.size());
  const bool external = &qs != &im.space;

  const int k = static_cast<int>(params.k);
  KnnResult res = make_result(nq, k);
  const int threads = resolve_threads(params.n_threads);
  // Where pruning fails a walk's frontier can hold ~N entries of 32 bytes per query, and a
  // scan's open-cluster list one entry of ~40 bytes (with its share of the grouping buffers)
  // per cluster plus a flag per top centre: bound a block's worst case to ~kFrontierBudget
  // bytes (only large N lowers the block below kQueryBlock). The scan has far fewer clusters
  // than points (gold-like data: 10k at N = 32,768, 19k at 262,144), so it keeps whole blocks
  // (at 262k: 0.137 -> 0.118 s per gold-like call with 256 queries per block instead of 64).
  // Small calls still get min_blocks blocks to share among threads; the block size depends on
  // the call alone, never on the thread count.
  // (The scan's also counts its share of the tile buffers and the answer heaps.)
  const index_t per_query =
      engine == TreeEngine::scan ? 40 * im.clusters.size() + im.clusters.top + 16 * params.k + 2048 : 32 * size();
  const index_t max_block = std::clamp<index_t>(kFrontierBudget / std::max<index_t>(1, per_query), 8, kQueryBlock);
  const index_t block = std::clamp<index_t>((nq + min_blocks - 1) / min_blocks, 8, max_block);
  // Blocks of spatially close queries share more of the tree: order dataset queries by the
  // depth-first rank of their node (new points keep their order).
  std::vector<index_t> order(nq);
  std::iota(order.begin(), order.end(), index_t{0});
  if (!external)
    std::stable_sort(order.begin(), order.end(),
                     [&](index_t a, index_t b) { return im.layout.dfs_rank[rows[a]] < im.layout.dfs_rank[rows[b]]; });
  std::vector<index_t> srows(nq), sids(nq);
  for (index_t i = 0; i < nq; ++i) {
    srows[i] = rows[order[i]];
    sids[i] = ids[order[i]];
  }
  std::vector<index_t> out_ids(static_cast<size_t>(nq) * k);
  std::vector<double> out_d(static_cast<size_t>(nq) * k);
  std::vector<std::int64_t> out_e(nq, 0);
  const tree::TreeView<Space> view{im.tree, im.layout, im.space, *im.bounds};
  struct Worker {
    std::unique_ptr<tree::BatchSearcher<Space>> searcher;
    std::unique_ptr<tree::LevelScanSearcher<Space>> scanner;
    tree::SearchCounters cnt;
    tree::SeedBounds::Scratch seed_scratch;
    std::int64_t seed_evaluations = 0;
  };
  std::vector<Worker> workers(threads);
  const bool scan = engine == TreeEngine::scan;
  for (auto& w : workers) {
    if (scan) w.scanner = std::make_unique<tree::LevelScanSearcher<Space>>(view, im.clusters);
    else w.searcher = std::make_unique<tree::BatchSearcher<Space>>(view);
  }
  const index_t blocks = (nq + block - 1) / block;
  auto block_size = [&](index_t b) { return static_cast<int>(std::min(block, nq - b * block)); };
  // Seed bounds first, for every block (tree/seed_bounds.hpp): they bound each query's k-th
  // distance, and estimate how long its block will take.
  std::vector<double> seed;
  if constexpr (std::is_same_v<Space, ResidualSpace>) {
    if (im.seeds) {
      seed.resize(nq);
      parallel_for(blocks, threads, [&](index_t b, int tid) {
        Worker& w = workers[tid];
        const index_t i0 = b * block;
        w.seed_evaluations += im.seeds->compute(im.space, im.row_of_id, qs, srows.data() + i0, sids.data() + i0,
                                                block_size(b), k, params.predecessor, seed.data() + i0,
                                                out_e.data() + i0, w.seed_scratch);
      });
    }
  }
  // Blocks start largest first, so that the last one to finish is a short one (greedy
  // longest-processing-time). A block's cost is estimated by the sum of its seed bounds: a
  // larger k-th distance prunes less (gold: block times follow the sums closely; the natural
  // order left one thread idle for ~7% of the time). Only the order of starts changes.
  std::vector<index_t> start_order(blocks);
  std::iota(start_order.begin(), start_order.end(), index_t{0});
  if (!seed.empty()) {
    std::vector<double> cost(blocks, 0.0);
    for (index_t i = 0; i < nq; ++i) cost[i / block] += seed[i] < 1.0 ? seed[i] : 1.0;  // d <= 1 (+inf: no seed)
    std::stable_sort(start_order.begin(), start_order.end(), [&](index_t a, index_t b) { return cost[a] > cost[b]; });
  }
  parallel_for(blocks, threads, [&](index_t n, int tid) {
    Worker& w = workers[tid];
    const index_t b = start_order[n], i0 = b * block;
    auto run = [&](auto& searcher) {  // both engines have the same search() contract
      searcher.search(qs, srows.data() + i0, sids.data() + i0, block_size(b), k, params.predecessor,
                      out_ids.data() + i0 * k, out_d.data() + i0 * k, out_e.data() + i0, w.cnt,
                      seed.empty() ? nullptr : seed.data() + i0);
    };
    if (scan) run(*w.scanner);
    else run(*w.searcher);
  });
  for (index_t i = 0; i < nq; ++i) {
    std::copy_n(out_ids.data() + i * k, k, res.ids.data() + order[i] * k);
    std::copy_n(out_d.data() + i * k, k, res.distances.data() + order[i] * k);
    res.stats.evaluations_per_query[order[i]] = out_e[i];
  }
  total_evaluations(res.stats);
  if (scan) res.stats.scan_queries = nq;
  std::vector<std::int64_t> by_level;
  for (const auto& w : workers) {
    res.stats.nodes_visited += w.cnt.visited;
    res.stats.subtrees_pruned += w.cnt.pruned;
    res.stats.seed_evaluations += w.seed_evaluations;
    if (w.cnt.by_level.size() > by_level.size()) by_level.resize(w.cnt.by_level.size(), 0);
    for (size_t i = 0; i < w.cnt.by_level.size(); ++i) by_level[i] += w.cnt.by_level[i];
  }
  for (size_t i = 0; i < by_level.size(); ++i)
    if (by_level[i]) res.stats.evaluations_by_level.emplace_back(im.tree.scale.top() - static_cast<int>(i), by_level[i]);
  return res;
}

template class CoverTreeIndex<EuclideanMetric>;
template class CoverTreeIndex<ResidualMetric>;

}  // namespace pcct
