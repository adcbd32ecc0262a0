// The cover tree against the brute force (exact equality: both use the same distance
// arithmetic), the validator, determinism across thread counts, and insertion.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <type_traits>

#include "core/parallel.hpp"
#include "pcct/knn/brute_force.hpp"
#include "pcct/tree/cover_tree.hpp"
#include "test_util.hpp"
#include "tree/batch_insert.hpp"
#include "tree/block_answers.hpp"
#include "tree/clusters.hpp"
#include "tree/priority_order.hpp"
#include "tree/seed_bounds.hpp"
#include "tree/spatial_order.hpp"
#include "tree/tree_layout.hpp"
#include "tree/validate.hpp"
#include "tree/validate_clusters.hpp"

namespace pcct {
namespace {

using test::Shape;
using test::points;

void expect_same(const KnnResult& a, const KnnResult& b, const std::string& what) {
  test::expect_same(a, b, what, "tree");
}

// Both query engines (the walk and the level scan) against the brute force.
template <class Metric>
void check_tree(const Metric& metric, double base, const std::string& what, bool seed_bounds = true) {
  const index_t n = metric.space().size();
  CoverTreeParams params;
  params.base = base;
  params.n_threads = 3;
  params.seed_bounds = seed_bounds;
  CoverTreeIndex<Metric> tree(metric, params);
  params.engine = TreeEngine::scan;
  CoverTreeIndex<Metric> scan(metric, params);
  EXPECT_STREQ(scan.algorithm_name(), "scan");
  const auto v = tree.validate(2);
  ASSERT_TRUE(v.ok) << what << ": " << (v.problems.empty() ? "" : v.problems[0]);
  BruteForceIndex<Metric> brute(metric);
  for (int k : {1, 4, static_cast<int>(n)}) {
    if (k > n) continue;
    for (bool pred : {false, true}) {
      const KnnParams p{k, pred, 2};
      const auto b = brute.knn(QuerySet::all_points(), p);
      const std::string w = what + " k=" + std::to_string(k) + (pred ? " predecessor" : "");
      expect_same(tree.knn(QuerySet::all_points(), p), b, w);
      const auto s = scan.knn(QuerySet::all_points(), p);
      expect_same(s, b, w + " (scan)");
      EXPECT_EQ(s.stats.scan_queries, n) << w;
    }
  }
}

struct Case {
  Shape shape;
  index_t n;
  int dim;
};
const Case kCases[] = {{Shape::gaussian, 1, 2},     {Shape::gaussian, 2, 2},  {Shape::gaussian, 3, 1},
                       {Shape::gaussian, 300, 3},   {Shape::clusters, 400, 2}, {Shape::duplicates, 200, 3},
                       {Shape::line, 250, 3},       {Shape::identical, 64, 2}, {Shape::grid, 300, 2},
                       {Shape::gaussian, 1500, 2},
                       // One cluster of 299 duplicates: the scan evaluates its members in chunks.
                       {Shape::identical, 300, 2}};

TEST(CoverTree, EuclideanMatchesBruteForce) {
  for (const Case& c : kCases) {
    const auto x = points(c.shape, c.n, c.dim, 7 + c.n);
    EuclideanMetric m(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), c.n, c.dim)));
    for (double base : {2.0, 1.3})
      check_tree(m, base, "euclid shape=" + std::to_string(static_cast<int>(c.shape)) + " n=" + std::to_string(c.n));
  }
  const auto x = points(Shape::gaussian, 800, 32, 5);  // high-dimensional
  check_tree(EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 800, 32))), 2.0, "euclid D=32");
}

TEST(CoverTree, ResidualMatchesBruteForce) {
  int variant = 0;
  for (const Case& c : kCases) {
    const auto x = points(c.shape, c.n, c.dim, 11 + c.n);
    Kernel k;
    k.type = static_cast<KernelType>(variant++ % 4);
    k.lengthscale = {0.6};
    const int m = static_cast<int>(std::min<index_t>(c.n, 25));
    const auto ind = test::first_ids(c.n, m, c.n % 3 == 0 ? 1 : 3);  // distinct ids
    auto model = test::residual_model(x, c.n, c.dim, k, ind);
    const std::string what = "resid shape=" + std::to_string(static_cast<int>(c.shape)) + " n=" + std::to_string(c.n);
    for (double base : {2.0, 1.3}) check_tree(ResidualMetric(model), base, what);
    check_tree(ResidualMetric(model), 2.0, what + " best-first (no seed bounds)", false);
  }
  // Above SeedBounds::kMaxDim the tree runs without seeds.
  const index_t n = 400;
  const int dim = tree::SeedBounds::kMaxDim + 1;
  const auto x = points(Shape::gaussian, n, dim, 13);
  Kernel k;
  k.lengthscale = {4.0};
  const auto ind = test::first_ids(n, 25, 3);
  auto model = test::residual_model(x, n, dim, k, ind);
  check_tree(ResidualMetric(model), 2.0, "resid D=" + std::to_string(dim));
}

// Bases near the smallest allowed (1.01) make trees with thousands of levels between the top
// and the duplicate floor: level arithmetic, clusters and both engines must stay exact.
TEST(CoverTree, DeepTreesWithBaseNearOneMatchBruteForce) {
  for (double base : {1.01, 1.05}) {
    const auto x = points(Shape::clusters, 300, 2, 17);
    check_tree(EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 300, 2))), base,
               "euclid deep base=" + std::to_string(base));
    const auto y = points(Shape::duplicates, 250, 3, 19);
    auto model = test::residual_model(y, 250, 3, Kernel{}, test::first_ids(250, 20, 3));
    check_tree(ResidualMetric(model), base, "resid deep base=" + std::to_string(base));
    CoverTreeParams params;
    params.base = base;
    const CoverTreeIndex<ResidualMetric> deep(ResidualMetric(model), params);
    const CoverTreeIndex<ResidualMetric> shallow{ResidualMetric(model)};  // base 2
    EXPECT_GT(deep.build_info().levels.size(), shallow.build_info().levels.size()) << "levels in use, base " << base;
  }
}

// The seed bound of a query, re-derived independently: the k-th smallest residual distance to
// its 3k nearest admissible points in scaled coordinates (found here by sorting), never below
// the exact k-th distance, and +inf (with no evaluations) when fewer than k points are
// admissible or 3k > N / kMaxShare. The seeds are built over a permuted copy of the points (as
// in the tree, rows are not ids), and queried by dataset id and by new coordinates.
TEST(SeedBounds, AreTheKthDistanceToTheNearestPointsInCoordinates) {
  using tree::SeedBounds;
  for (Shape shape : {Shape::gaussian, Shape::clusters, Shape::duplicates}) {
    const index_t n = 500, n_new = 40;
    const auto x = points(shape, n, 2, 41);
    const auto xq = points(Shape::gaussian, n_new, 2, 42);
    Kernel kern;
    kern.lengthscale = {0.5, 2.0};  // scaled coordinates differ from the raw ones
    const auto ind = test::first_ids(n, 30, 7);
    auto model = test::residual_model(x, n, 2, kern, ind);
    const ResidualMetric metric(model);
    const ResidualSpace& s = metric.space();  // row i = id i
    std::vector<index_t> perm(n), row_of_id(n);
    for (index_t r = 0; r < n; ++r) perm[r] = (r * 137 + 11) % n;  // 137 is coprime with 500
    for (index_t r = 0; r < n; ++r) row_of_id[perm[r]] = r;
    const ResidualSpace data = s.permuted(perm);
    const auto seeds = SeedBounds::build(data, row_of_id);
    ASSERT_TRUE(seeds);
    const ResidualSpace fresh = model->embed(MatrixView::row_major(xq.data(), n_new, 2));
    BruteForceIndex<ResidualMetric> brute(metric);
    // The independent bound for row q of qs whose admissible ids are [0, admissible).
    auto expected = [&](const ResidualSpace& qs, index_t q, index_t admissible, int k) {
      const index_t m = std::min<index_t>(admissible, SeedBounds::kPerNeighbour * k);
      std::vector<std::pair<double, index_t>> near;
      for (index_t j = 0; j < admissible; ++j) {
        double d2 = 0;
        for (int t = 0; t < 2; ++t) d2 += std::pow(qs.scaled_coord(q, t) - s.scaled_coord(j, t), 2);
        near.emplace_back(d2, j);
      }
      std::partial_sort(near.begin(), near.begin() + m, near.end());
      std::vector<double> d;
      for (index_t j = 0; j < m; ++j) d.push_back(s.distance(qs, q, near[j].second));
      std::nth_element(d.begin(), d.begin() + (k - 1), d.end());
      return d[k - 1];
    };
    for (bool pred : {false, true})
      for (int k : {1, 6, 21}) {  // 21: 3k > N / 8, no seeds
        const std::string what = "shape=" + std::to_string(static_cast<int>(shape)) + " k=" + std::to_string(k) +
                                 (pred ? " predecessor" : "");
        const bool seeded = SeedBounds::kPerNeighbour * k * SeedBounds::kMaxShare <= n;
        std::vector<index_t> ids(n), rows(n);
        for (index_t i = 0; i < n; ++i) ids[i] = i, rows[i] = row_of_id[i];
        std::vector<double> bound(n);
        std::vector<std::int64_t> evals(n, 0);
        SeedBounds::Scratch sc;
        const std::int64_t total = seeds->compute(data, row_of_id, data, rows.data(), ids.data(), static_cast<int>(n),
                                                  k, pred, bound.data(), evals.data(), sc);
        EXPECT_EQ(total, std::accumulate(evals.begin(), evals.end(), std::int64_t{0})) << what;
        const auto exact = brute.knn(QuerySet::all_points(), KnnParams{k, pred, 1});
        for (index_t i = 0; i < n; ++i) {
          const index_t admissible = pred ? i : n;
          if (admissible < k || !seeded) {
            EXPECT_EQ(bound[i], std::numeric_limits<double>::infinity()) << what << " i=" << i;
            EXPECT_EQ(evals[i], 0) << what << " i=" << i;
            continue;
          }
          EXPECT_GE(bound[i], exact.distances[i * k + k - 1]) << what << " i=" << i;
          EXPECT_EQ(evals[i], std::min<index_t>(admissible, SeedBounds::kPerNeighbour * k)) << what << " i=" << i;
          // With exact ties in coordinates any tie order is valid, so compare only without them.
          if (shape == Shape::gaussian) EXPECT_EQ(bound[i], expected(s, i, admissible, k)) << what << " i=" << i;
        }
        if (pred) continue;  // new points have no predecessors
        std::vector<index_t> qrows(n_new), none(n_new, -1);
        std::iota(qrows.begin(), qrows.end(), index_t{0});
        std::vector<double> fb(n_new);
        std::vector<std::int64_t> fe(n_new, 0);
        seeds->compute(data, row_of_id, fresh, qrows.data(), none.data(), static_cast<int>(n_new), k, false, fb.data(),
                       fe.data(), sc);
        const auto fx = brute.knn(QuerySet::by_coords(MatrixView::row_major(xq.data(), n_new, 2)), KnnParams{k, false, 1});
        for (index_t i = 0; i < n_new; ++i) {
          if (!seeded) {
            EXPECT_EQ(fb[i], std::numeric_limits<double>::infinity()) << what << " new point " << i;
            continue;
          }
          EXPECT_GE(fb[i], fx.distances[i * k + k - 1]) << what << " new point " << i;
          if (shape == Shape::gaussian) EXPECT_EQ(fb[i], expected(fresh, i, n, k)) << what << " new point " << i;
        }
      }
  }
}

// A tree built directly with the batch inserter (no layout), root = row 0 at level `top`.
template <class Space>
tree::DynamicTree<Space> insert_all(const Space& s, int top, int threads) {
  tree::DynamicTree<Space> t;
  t.resize(s.size());
  tree::PruneBounds<Space> pb(s);
  t.scale = tree::LevelScale(2.0, top);
  t.root = 0;
  t.level[0] = top;
  pb.init_node(t.bound[0], 0);
  t.count = 1;
  tree::BuildStats stats;
  tree::BatchInserter<Space> ins(t, s, pb, threads);
  ins.insert(tree::priority_order(1, s.size()), stats);
  return t;
}

// insert_all's tree renumbered breadth-first, with the points permuted to match (the layout
// the index queries).
template <class Space>
struct LaidOut {
  tree::DynamicTree<Space> tree;
  Space space;
};
template <class Space>
LaidOut<Space> laid_out(const Space& s0, int top, int threads) {
  const auto t0 = insert_all(s0, top, threads);
  const auto bfs = tree::breadth_first_order(t0, tree::morton_keys(s0));
  return {tree::renumber(t0, bfs), s0.permuted(std::vector<index_t>(bfs.begin(), bfs.end()))};
}

TEST(SpatialOrder, MortonKeysInterleaveCellBits) {
  // Corners of a square: x's bits go to the even positions, y's to the odd ones.
  const std::vector<double> sq = {0, 0, 1, 0, 0, 1, 1, 1};
  const auto k = tree::morton_keys(EuclideanSpace::from_coords(MatrixView::row_major(sq.data(), 4, 2)));
  std::uint64_t even = 0;  // bits 0, 2, ..., 40: x's 21 bits, all set for the top cell
  for (int b = 0; b < 21; ++b) even |= std::uint64_t{1} << (2 * b);
  EXPECT_EQ(k[0], 0u);
  EXPECT_EQ(k[1], even);
  EXPECT_EQ(k[2], k[1] << 1);
  EXPECT_EQ(k[3], k[1] | k[2]);
  // Z-order is monotone in each coordinate: a point whose cells are all <= another's never
  // gets a larger key. Also near the largest coordinates accepted (1e150).
  for (double scale : {1.0, 1e149}) {
    const index_t n = 300;
    for (int d : {1, 3, 8, 70}) {
      auto x = points(Shape::gaussian, n, d, 11 + d);
      for (double& v : x) v *= scale;
      const auto s = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, d));
      const auto key = tree::morton_keys(s);
      for (index_t a = 0; a < n; ++a)
        for (index_t b = 0; b < n; ++b) {
          bool below = true;
          for (int t = 0; t < d && below; ++t) below = s.coord(a, t) <= s.coord(b, t);
          if (below) ASSERT_LE(key[a], key[b]) << "d=" << d << " rows " << a << ", " << b;
        }
      EXPECT_GT(std::set<std::uint64_t>(key.begin(), key.end()).size(), static_cast<size_t>(n / 2)) << d;
    }
  }
}

TEST(SpatialOrder, SiblingsAreLaidOutInKeyOrder) {
  const index_t n = 2000;
  const auto x = points(Shape::gaussian, n, 3, 5);
  const auto s0 = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3));
  const auto t0 = insert_all(s0, 5, 2);
  const auto key = tree::morton_keys(s0);
  const auto bfs = tree::breadth_first_order(t0, key);
  ASSERT_EQ(static_cast<index_t>(bfs.size()), n);
  const auto t = tree::renumber(t0, bfs);
  index_t checked = 0;
  for (index_t r = 0; r < n; ++r) {
    std::int32_t prev = -1;
    for (std::int32_t c = t.first_child[r]; c >= 0; prev = c, c = t.next_sibling[c]) {
      if (prev < 0) continue;
      EXPECT_LT(prev, c);  // breadth-first rows
      if (t.level[prev] != t.level[c]) {
        EXPECT_GT(t.level[prev], t.level[c]);
        continue;
      }
      EXPECT_LE(key[bfs[prev]], key[bfs[c]]) << "children " << prev << ", " << c << " of " << r;
      ++checked;
    }
  }
  EXPECT_GT(checked, n / 4);
}

TEST(SpatialOrder, TheIndexLaysSiblingsOutInMortonOrder) {
  // Through the index (not the helper above): consecutive same-level siblings in its arrays
  // have non-decreasing Morton keys of their coordinates.
  const index_t n = 3000;
  const auto x = points(Shape::gaussian, n, 3, 8);
  const auto s0 = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3));
  const auto key = tree::morton_keys(s0);  // by dataset id (from_coords keeps the order)
  CoverTreeIndex<EuclideanMetric> index{EuclideanMetric(s0)};
  const auto a = index.arrays();
  index_t checked = 0;
  for (size_t r = 1; r < a.id.size(); ++r) {
    if (a.parent[r] != a.parent[r - 1] || a.level[r] != a.level[r - 1]) continue;
    EXPECT_LE(key[a.id[r - 1]], key[a.id[r]]) << "rows " << r - 1 << ", " << r;
    ++checked;
  }
  EXPECT_GT(checked, n / 4);
}

TEST(CoverTree, IndependentSeparationAndCoveringCheck) {
  // Re-derives the invariants from distances in the test, without the validator.
  const index_t n = 600;
  const auto x = points(Shape::clusters, n, 2, 3);
  EuclideanMetric m(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)));
  const auto& s = m.space();
  const auto t = insert_all(s, 5, 2);
  const double dup = t.scale.radius(t.scale.floor());
  for (index_t p = 0; p < n; ++p) {
    if (p != 0) {
      EXPECT_LT(t.level[p], t.level[t.parent[p]]);
      EXPECT_LE(s.distance(s, p, t.parent[p]), t.scale.radius(t.level[p] + 1));
    }
    for (index_t q = p + 1; q < n; ++q) {
      const double d = s.distance(s, p, q);
      if (d > dup) EXPECT_GT(d, t.scale.radius(std::min(t.level[p], t.level[q]))) << p << " " << q;
    }
  }
}

TEST(CoverTree, ClustersPartitionTheTreeWithTrueBounds) {
  // Re-derived here: every row is a centre or a member of exactly one cluster, its owner is
  // its first ancestor at or above the cluster level, the centres are at most half of the rows
  // (with at least one level above the cluster level), top centres come first and bottom
  // centres know their parent's slot, and each cluster's bound holds every member's distance.
  for (Shape shape : {Shape::gaussian, Shape::clusters, Shape::duplicates}) {
    const index_t n = 900;
    const auto x = points(shape, n, 2, 40);
    const auto [t, s] = laid_out(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)), 4, 2);
    const tree::PruneBounds<EuclideanSpace> pb(s);
    const auto layout = tree::make_layout(t, s, pb);
    const auto c = tree::make_clusters(t, layout, s, pb);
    const std::string what = "shape " + std::to_string(static_cast<int>(shape));
    ASSERT_GT(c.size(), 0) << what;
    EXPECT_LE(c.size(), n / 2) << what;
    EXPECT_GT(c.top, 0) << what;
    std::vector<int> seen(n, 0);
    for (index_t j = 0; j < c.size(); ++j) {
      const index_t ctr = c.centre[j];
      ++seen[ctr];
      EXPECT_EQ(t.level[ctr] > c.level, j < c.top) << what;
      EXPECT_GE(t.level[ctr], c.level) << what;
      if (j >= c.top) EXPECT_EQ(c.centre[c.parent_slot[j]], t.parent[ctr]) << what;
      index_t min_id = std::numeric_limits<index_t>::max();
      for (index_t u = c.start[j]; u < c.start[j + 1]; ++u) {
        const index_t r = c.member[u];
        ++seen[r];
        EXPECT_LT(t.level[r], c.level) << what;
        index_t a = t.parent[r];
        while (t.level[a] < c.level) a = t.parent[a];
        EXPECT_EQ(a, ctr) << what << ": member " << r;
        EXPECT_LE(s.distance(s, ctr, r), c.bound[j].rad) << what;
        min_id = std::min(min_id, s.id(r));
      }
      EXPECT_EQ(c.min_member_id[j], min_id) << what;
    }
    for (index_t r = 0; r < n; ++r) EXPECT_EQ(seen[r], 1) << what << ": row " << r;
  }
}

// The cluster level on the per-level node counts measured on gold-like trees (N = 16k, 32k
// and 262k: L = -2 in each, where the scan is fastest) and on made-up ones for each limit.
TEST(CoverTree, ClusterLevelRule) {
  using Levels = std::map<int, index_t, std::greater<>>;
  // 16k: centres down to -2 are 7,648 <= 8,192; -3 would put 7,648 > 4,096 above it.
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 2047}, {-2, 5600}, {-3, 6164}, {-4, 2204}, {-5, 368}}, 2047), -2);
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 2213}, {-2, 8085}, {-3, 13822}, {-4, 7017}, {-5, 1630}}, 2213),
            -2);
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 2944}, {-2, 16294}, {-3, 63785}, {-4, 108661}, {-5, 70459}}, 2944),
            -2);
  // The share limit alone: a narrow, deep tree stops once the centres would pass half.
  EXPECT_EQ(tree::cluster_level(Levels{{5, 1}, {4, 3}, {3, 9}, {2, 27}, {1, 81}, {0, 243}, {-1, 100}}, 3), 1);
  // The top limit follows a wide root: 2 x 5,000 root children may sit above L.
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 5000}, {-2, 9000}, {-3, 30000}, {-4, 60000}}, 5000), -2);
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 5000}, {-2, 9000}, {-3, 30000}, {-4, 60000}}, 4000), -2);
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 5000}, {-2, 2000}, {-3, 30000}, {-4, 60000}}, 3000), -2);
  EXPECT_EQ(tree::cluster_level(Levels{{0, 1}, {-1, 9000}, {-2, 2000}, {-3, 30000}, {-4, 60000}}, 4000), -1);
  // One node: its own level.
  EXPECT_EQ(tree::cluster_level(Levels{{3, 1}}, 0), 3);
}

TEST(CoverTree, SiblingChunksPartitionTheSlots) {
  // The scan's bottom chunks: consecutive, covering every slot once, at most `width` wide, and
  // cut inside a sibling group only when the group alone is wider than `width`; a chunk ends
  // where the next whole group would not fit. Checked against a direct reading of that rule.
  std::mt19937_64 g(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::int32_t> parent;
    for (std::int32_t p = 0; static_cast<int>(parent.size()) < 60; ++p)
      parent.insert(parent.end(), 1 + g() % (trial % 4 == 0 ? 20 : 5), p);
    const index_t width = 1 + static_cast<index_t>(g() % 9);
    const auto m = static_cast<index_t>(parent.size());
    auto group_end = [&](index_t s) {
      while (s + 1 < m && parent[s + 1] == parent[s]) ++s;
      return s + 1;
    };
    for (index_t c0 = 0, c1; c0 < m; c0 = c1) {
      c1 = tree::sibling_chunk_end(parent, c0, width);
      ASSERT_GT(c1, c0);
      ASSERT_LE(c1 - c0, width);
      index_t expect = std::min(group_end(c0), c0 + width);  // the first group, cut if too wide
      if (expect == group_end(c0))
        while (expect < m && group_end(expect) - c0 <= width) expect = group_end(expect);
      EXPECT_EQ(c1, expect) << "trial " << trial << " c0 " << c0 << " width " << width;
    }
  }
}

// An "auto" cover tree and the brute force over one residual model (N(0, I) points of
// dimension d, `inducing` inducing points), and nq query ids spread over the points.
struct AutoCase {
  std::shared_ptr<ResidualModel> model;
  CoverTreeIndex<ResidualMetric> tree;
  BruteForceIndex<ResidualMetric> brute;
  std::vector<index_t> q;
};
AutoCase auto_case(index_t n, int d, std::uint64_t seed, const Kernel& kernel, index_t inducing,
                   index_t inducing_step, index_t nq) {
  const auto x = points(Shape::gaussian, n, d, seed);
  auto model = test::residual_model(x, n, d, kernel, test::first_ids(n, inducing, inducing_step));
  CoverTreeParams p;
  p.auto_brute = true;
  std::vector<index_t> q(nq);
  for (index_t i = 0; i < nq; ++i) q[i] = (i * 7919) % n;
  return AutoCase{model, CoverTreeIndex<ResidualMetric>(ResidualMetric(model), p),
                  BruteForceIndex<ResidualMetric>{ResidualMetric(model)}, std::move(q)};
}

TEST(CoverTree, AutoPicksTheScanOnAWideResidualMetric) {
  // Gold in miniature (N(0, I3), RBF with lengthscale 1, inducing points): distances bunch
  // near 1, the walk evaluates most of the top levels anyway, and "auto" sends the queries
  // to the level scan; the answers are still the brute force's, bit for bit.
  const index_t nq = 512;
  const auto c = auto_case(6000, 3, 41, Kernel{}, 64, 13, nq);
  const auto qs = QuerySet::by_ids(IdView{c.q.data(), nq});
  const auto a = c.tree.knn(qs, KnnParams{20, false, 2});
  expect_same(a, c.brute.knn(qs, KnnParams{20, false, 2}), "auto on a wide residual metric");
  // Every query, the sample included; the walk's probe (8 of the sample, answers dropped) is
  // counted apart.
  EXPECT_EQ(a.stats.scan_queries, nq);
  EXPECT_GT(a.stats.probe_evaluations, 0);
  EXPECT_EQ(a.stats.distance_evaluations,
            std::accumulate(a.stats.evaluations_per_query.begin(), a.stats.evaluations_per_query.end(),
                            std::int64_t{0}) + a.stats.probe_evaluations);
  EXPECT_EQ(a.stats.brute_force_queries, 0);
}

TEST(CoverTree, AutoPicksTheWalkWhereItPrunesDeep) {
  // Points on a line with a lengthscale far below their spread: each query's neighbours sit in
  // a few small subtrees, the walk prunes almost everything, and the scan would still evaluate
  // all its top centres. "auto"'s probe sends the queries after its sample to the walk.
  const index_t nq = 512;
  const auto c = auto_case(8000, 1, 43, Kernel{KernelType::rbf, 1.0, {0.01}}, 16, 17, nq);
  const auto qs = QuerySet::by_ids(IdView{c.q.data(), nq});
  for (bool pred : {false, true}) {
    const auto a = c.tree.knn(qs, KnnParams{10, pred, 2});
    expect_same(a, c.brute.knn(qs, KnnParams{10, pred, 2}), pred ? "auto, walk, predecessor" : "auto, walk");
    EXPECT_GT(a.stats.probe_evaluations, 0);
    EXPECT_EQ(a.stats.scan_queries, 32) << "only the sample ran on the scan";
    if (!pred) EXPECT_EQ(a.stats.brute_force_queries, 0);
  }
}

TEST(CoverTree, AutoSkipsTheWalkProbeWhereTheWalkCannotWin) {
  // Matern 3/2 on 2-D points: the scan evaluates little beyond the root's children, so the
  // walk's floor (3 x the root's children) is not below the scan's sampled cost (1.8 x its
  // evaluations; ~20% margin on this data), "auto" runs no probe and the scan answers every
  // query. Calls too small to sample (under 128 queries) go to the scan as well.
  const index_t nq = 512;
  const auto c = auto_case(8000, 2, 47, Kernel{KernelType::matern32, 1.0, {0.5}}, 64, 19, nq);
  for (const index_t m : {nq, index_t{100}}) {
    const auto qs = QuerySet::by_ids(IdView{c.q.data(), m});
    const auto a = c.tree.knn(qs, KnnParams{10, false, 2});
    expect_same(a, c.brute.knn(qs, KnnParams{10, false, 2}), "auto without a probe");
    EXPECT_EQ(a.stats.probe_evaluations, 0) << m << " queries";
    EXPECT_EQ(a.stats.scan_queries, m);
    EXPECT_EQ(a.stats.brute_force_queries, 0);
  }
}

TEST(CoverTree, AutoSendsEarlyPredecessorIdsToTheBruteForceWithoutASample) {
  // In predecessor mode query i scans only i points. A call whose ids are all below what any
  // tree query costs (a batched Vecchia call of early ids) runs no sample: the brute force
  // answers it. A small call mixing early and late ids probes 8 of its late ones, and its
  // early ones go to the brute force.
  const auto c = auto_case(6000, 3, 41, Kernel{}, 64, 13, 0);
  const auto& info = c.tree.build_info();
  ASSERT_GE(info.scan_top_centres, 200) << "the test needs ids 0..199 below every tree floor";
  std::vector<index_t> early(200), mixed;
  std::iota(early.begin(), early.end(), index_t{0});
  for (index_t i = 0; i < 100; ++i) mixed.push_back(i * 59);  // ids 0 .. 5,841
  for (const auto* ids : {&early, &mixed}) {
    const index_t m = static_cast<index_t>(ids->size());
    const auto qs = QuerySet::by_ids(IdView{ids->data(), m});
    const auto a = c.tree.knn(qs, KnnParams{20, true, 2});
    expect_same(a, c.brute.knn(qs, KnnParams{20, true, 2}), "auto, predecessor, early ids");
    if (ids == &early) {
      EXPECT_EQ(a.stats.brute_force_queries, m);
      EXPECT_EQ(a.stats.sampled_queries, 0);
      EXPECT_EQ(a.stats.probe_evaluations, 0);
    } else {
      EXPECT_EQ(a.stats.sampled_queries, 8);
      EXPECT_GE(a.stats.brute_force_queries, 4) << "ids 0, 59, 118 and 177 at least";
      EXPECT_LT(a.stats.brute_force_queries, m - 8);
    }
  }
}

TEST(CoverTree, AutoSmallCallsFollowTheLastMeasuredChoice) {
  // Points on a line, lengthscale far below their spread: the walk prunes almost everything.
  // A call too small to sample (under 128 queries) probes 8 of its queries on both engines
  // (the scan's answers kept), the walk answers the rest, and the next 16 small calls with the
  // same k and mode follow that choice without a probe; the 17th probes again. Other k or
  // mode, and an insert, start over. A large call's sample counts as a probe. Every answer is
  // the brute force's.
  const index_t n = 8000;
  const auto c0 = auto_case(n, 1, 43, Kernel{KernelType::rbf, 1.0, {0.01}}, 16, 17, 0);
  CoverTreeParams p;
  p.auto_brute = true;
  CoverTreeIndex<ResidualMetric> tree(ResidualMetric(c0.model), p);
  std::vector<index_t> q(100);
  auto call = [&](index_t first, int k, bool pred, bool check = true) {  // no check after the insert
    for (index_t i = 0; i < 100; ++i) q[i] = (first + i * 37) % n;
    const auto qs = QuerySet::by_ids(IdView{q.data(), 100});
    const auto a = tree.knn(qs, KnnParams{k, pred, 2});
    if (check) expect_same(a, c0.brute.knn(qs, KnnParams{k, pred, 2}), "auto small call");
    return a.stats;
  };
  auto probed = [](const KnnStats& s) {
    return s.sampled_queries == 8 && s.scan_queries == 8 && s.probe_evaluations > 0 && s.brute_force_queries == 0;
  };
  auto followed = [](const KnnStats& s) {
    return s.sampled_queries == 0 && s.scan_queries == 0 && s.probe_evaluations == 0 && s.brute_force_queries == 0;
  };
  EXPECT_TRUE(probed(call(1000, 10, false))) << "the first small call probes";
  for (int r = 0; r < 16; ++r) EXPECT_TRUE(followed(call(1100 + 7 * r, 10, false))) << "follow " << r;
  EXPECT_TRUE(probed(call(1300, 10, false))) << "the 17th small call probes again";
  EXPECT_TRUE(followed(call(1400, 10, false)));
  EXPECT_TRUE(probed(call(1400, 9, false))) << "another k";
  const KnnStats pred = call(4000, 10, true);  // ids 4000.. scan far more points than the walk evaluates
  EXPECT_EQ(pred.sampled_queries, 8) << "predecessor mode has its own choice";
  EXPECT_EQ(pred.brute_force_queries, 0);
  EXPECT_TRUE(followed(call(1500, 10, false))) << "the other choices are kept";

  // A large call's sample is a choice too.
  CoverTreeIndex<ResidualMetric> fresh(ResidualMetric(c0.model), p);
  std::vector<index_t> many(512);
  for (index_t i = 0; i < 512; ++i) many[i] = (i * 7919) % n;
  const auto big = fresh.knn(QuerySet::by_ids(IdView{many.data(), 512}), KnnParams{10, false, 2});
  EXPECT_EQ(big.stats.sampled_queries, 32);
  const auto small = fresh.knn(QuerySet::by_ids(IdView{many.data(), 100}), KnnParams{10, false, 2});
  EXPECT_EQ(small.stats.sampled_queries, 0);
  EXPECT_EQ(small.stats.scan_queries, 0);

  // An insert forgets every choice: the tree changed.
  std::vector<double> y{0.25, -0.5, 3.0};
  tree.insert(c0.model->embed(MatrixView::row_major(y.data(), 3, 1)));
  EXPECT_TRUE(probed(call(1600, 10, false, false))) << "after an insert";
}

TEST(CoverTree, AutoSmallCallsSplitByTheCostTheLastCallMeasured) {
  // Predecessor mode on 2-D points. The first small call, of early ids, probes the walk,
  // although the ids are below the scan's cost (a large call would not probe there), and the
  // walk wins. A following call of late ids measures the walk's cost anew, lower than at the
  // early ids, and the call after that sends to the brute force exactly the ids at most that
  // new cost (or the floor), not those at most the probe's cost.
  const index_t n = 6000;
  const auto c = auto_case(n, 2, 59, Kernel{KernelType::rbf, 1.0, {0.5}}, 64, 37, 0);
  const auto arrays = c.tree.arrays();
  const auto root_children = std::count(arrays.parent.begin(), arrays.parent.end(), 0);
  const double floor = std::min(1.8 * static_cast<double>(c.tree.build_info().scan_top_centres),
                                3.0 * static_cast<double>(root_children));
  auto call = [&](const std::vector<index_t>& ids) {
    const auto qs = QuerySet::by_ids(IdView{ids.data(), static_cast<index_t>(ids.size())});
    const auto a = c.tree.knn(qs, KnnParams{10, true, 2});
    expect_same(a, c.brute.knn(qs, KnnParams{10, true, 2}), "auto, predecessor, small calls");
    return a.stats;
  };
  auto range = [](index_t first, index_t step) {
    std::vector<index_t> ids(100);
    for (index_t i = 0; i < 100; ++i) ids[i] = first + i * step;
    return ids;
  };
  const KnnStats probe = call(range(1000, 1));
  ASSERT_EQ(probe.sampled_queries, 8);
  ASSERT_EQ(probe.scan_queries, 8) << "the walk must win the probe";
  ASSERT_GT(probe.probe_evaluations, 0);
  const double probe_cost = 3.0 * static_cast<double>(probe.probe_evaluations) / 8;
  const KnnStats late = call(range(5800, 1));
  ASSERT_EQ(late.sampled_queries + late.scan_queries + late.brute_force_queries, 0) << "all on the walk";
  const double late_cost = 3.0 * static_cast<double>(std::accumulate(late.evaluations_per_query.begin(),
                                                                     late.evaluations_per_query.end(), std::int64_t{0})) / 100;
  const std::vector<index_t> mixed = range(800, 12);  // ids 800 .. 1,988
  auto below = [&](double cost) {
    return std::count_if(mixed.begin(), mixed.end(), [&](index_t id) { return id <= std::max(floor, cost); });
  };
  ASSERT_NE(below(late_cost), below(probe_cost)) << "floor " << floor << " probe cost " << probe_cost
                                                 << " late cost " << late_cost;
  const KnnStats next = call(mixed);
  EXPECT_EQ(next.sampled_queries, 0);
  EXPECT_EQ(next.brute_force_queries, below(late_cost));
}

TEST(CoverTree, AutoSmallCallsGoToTheBruteForceWhereItIsCheaper) {
  // 8-D points with a long lengthscale: both tree engines evaluate most of the 3,000 points,
  // so the probe's measured cost (1.8 brute-force evaluations per scan evaluation) exceeds N
  // and small calls go to the brute force, all but the 8 sampled queries. Before the probe,
  // they all went to the scan.
  const auto c = auto_case(3000, 8, 53, Kernel{KernelType::rbf, 1.0, {2.0}}, 64, 11, 100);
  const auto qs = QuerySet::by_ids(IdView{c.q.data(), 100});
  for (int r = 0; r < 3; ++r) {
    const auto a = c.tree.knn(qs, KnnParams{20, false, 2});
    expect_same(a, c.brute.knn(qs, KnnParams{20, false, 2}), "auto, brute force cheaper");
    EXPECT_EQ(a.stats.sampled_queries, r == 0 ? 8 : 0);
    EXPECT_EQ(a.stats.brute_force_queries, r == 0 ? 92 : 100);
  }
}

TEST(CoverTree, ValidatorDetectsCorruption) {
  const index_t n = 300;
  const auto x = points(Shape::gaussian, n, 2, 4);
  auto [tt, s] = laid_out(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)), 4, 1);
  const tree::PruneBounds<EuclideanSpace> pbs(s);
  auto layout = tree::make_layout(tt, s, pbs);
  ASSERT_TRUE(tree::validate_tree(tt, layout, s, pbs, 2).ok);

  auto bad = tt;
  bad.bound[5].rad *= 0.5;  // a radius that is not the true one
  EXPECT_FALSE(tree::validate_tree(bad, layout, s, pbs, 2).ok);
  bad = tt;
  bad.level[n - 1] = bad.level[bad.parent[n - 1]];  // nesting broken
  EXPECT_FALSE(tree::validate_tree(bad, layout, s, pbs, 2).ok);
  bad = tt;
  for (index_t r = 1; r < n; ++r)  // a node raised to its parent's level - 1 breaks separation or covering
    if (bad.level[r] < bad.level[bad.parent[r]] - 2) {
      bad.level[r] = bad.level[bad.parent[r]] - 1;
      break;
    }
  const auto rep = tree::validate_tree(bad, layout, s, pbs, 2);
  EXPECT_FALSE(rep.ok);
  auto bad_layout = layout;
  bad_layout.min_id[3] += 1;
  EXPECT_FALSE(tree::validate_tree(tt, bad_layout, s, pbs, 2).ok);
  bad_layout = layout;
  bad_layout.child_hi[n / 2] *= 0.5;  // a parent-child bound the walk would prune too much with
  EXPECT_FALSE(tree::validate_tree(tt, bad_layout, s, pbs, 2).ok);
}

// The scan's clusters, on both metrics: the validator passes them as made and catches each
// kind of corruption (a wrong bound or smallest id, a member moved to another cluster).
template <class Space>
void expect_cluster_corruption_found(const tree::DynamicTree<Space>& tt, const Space& s,
                                     const tree::PruneBounds<Space>& pb) {
  const auto layout = tree::make_layout(tt, s, pb);
  const auto c = tree::make_clusters(tt, layout, s, pb);
  auto check = [&](const tree::Clusters<Space>& cl) {
    tree::ValidationReport rep;
    tree::validate_clusters(tt, cl, s, pb, rep);
    return rep.ok;
  };
  ASSERT_TRUE(check(c));
  ASSERT_GT(c.size(), c.top);
  index_t j = c.top;  // a bottom cluster with members, and another cluster with members
  while (j < c.size() && c.members(j) < 2) ++j;
  ASSERT_LT(j, c.size());
  index_t other = 0;
  while (other < c.size() && (other == j || c.members(other) == 0)) ++other;
  ASSERT_LT(other, c.size());
  auto bad = c;
  bad.bound[j] = bad.bound[other];
  EXPECT_FALSE(check(bad));
  bad = c;
  bad.min_member_id[j] += 1;
  EXPECT_FALSE(check(bad));
  bad = c;
  std::swap(bad.member[bad.start[j]], bad.member[bad.start[other]]);
  EXPECT_FALSE(check(bad));
  bad = c;
  bad.parent_slot[j] = bad.parent_slot[j] == 0 ? 1 : 0;
  EXPECT_FALSE(check(bad));
  bad = c;
  bad.start[j + 1] = bad.start.back() + 5;  // a member range past the end: reported, not read
  EXPECT_FALSE(check(bad));
  if constexpr (std::is_same_v<Space, ResidualSpace>) {
    // Queries by id prune with the derived terms alone: stale ones must be caught too.
    bad = c;
    bad.bound[j].sin_a *= 0.5;
    EXPECT_FALSE(check(bad));
    auto bad_tree = tt;
    bad_tree.bound[c.centre[j]].cos_a += 1e-3;
    EXPECT_FALSE(tree::validate_tree(bad_tree, layout, s, pb, 2).ok);
    EXPECT_TRUE(tree::validate_tree(tt, layout, s, pb, 2).ok);
  }
}

TEST(CoverTree, ValidatorDetectsClusterCorruption) {
  const index_t n = 2000;
  const auto x = points(Shape::gaussian, n, 3, 8);
  {
    const auto [tt, s] = laid_out(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3)), 4, 2);
    expect_cluster_corruption_found(tt, s, tree::PruneBounds<EuclideanSpace>(s));
  }
  {
    auto model = test::residual_model(x, n, 3, Kernel{}, test::first_ids(n, 64, 5));
    const auto [tt, s] = laid_out(ResidualMetric(model).space(), 0, 2);  // residual distances are <= 1
    expect_cluster_corruption_found(tt, s, tree::PruneBounds<ResidualSpace>(s));
  }
}

TEST(CoverTree, IdenticalForEveryThreadCount) {
  const index_t n = 3000;
  const auto x = points(Shape::gaussian, n, 3, 12);
  const auto ind = test::first_ids(n, 64, 7);
  auto model = test::residual_model(x, n, 3, Kernel{}, ind);
  KnnResult first, first_auto, first_scan, first_scan_all, first_scan_coords, first_coords;
  CoverTreeBuildInfo info;
  const auto qx = points(Shape::gaussian, 300, 3, 13);
  const QuerySet qc = QuerySet::by_coords(MatrixView::row_major(qx.data(), 300, 3));
  for (int threads : {1, 2, 3, 4}) {
    CoverTreeParams p;
    p.n_threads = threads;
    CoverTreeIndex<ResidualMetric> tree(ResidualMetric(model), p);
    auto r = tree.knn(QuerySet::all_points(), KnnParams{10, false, threads});
    p.engine = TreeEngine::scan;
    CoverTreeIndex<ResidualMetric> scan_index(ResidualMetric(model), p);
    auto rs = scan_index.knn(QuerySet::all_points(), KnnParams{10, true, threads});
    // The scan on all points (seed bounds for every query), and on new points as queries.
    const auto rs_all = scan_index.knn(QuerySet::all_points(), KnnParams{10, false, threads});
    const auto rs_coords = scan_index.knn(qc, KnnParams{10, false, threads});
    const auto r_coords = tree.knn(qc, KnnParams{10, false, threads});
    // "auto" in predecessor mode splits the call between the brute force and the tree.
    p.auto_brute = true;
    CoverTreeIndex<ResidualMetric> auto_index(ResidualMetric(model), p);
    auto ra = auto_index.knn(QuerySet::all_points(), KnnParams{10, true, threads});
    EXPECT_GT(ra.stats.brute_force_queries, 0);
    EXPECT_LT(ra.stats.brute_force_queries, n);
    const auto& bi = tree.build_info();
    if (threads == 1) {
      first = r;
      first_auto = ra;
      first_scan = rs;
      first_scan_all = rs_all;
      first_scan_coords = rs_coords;
      first_coords = r_coords;
      info = bi;
      continue;
    }
    expect_same(rs_all, first_scan_all, "scan, all points, threads=" + std::to_string(threads));
    expect_same(rs_coords, first_scan_coords, "scan, new points, threads=" + std::to_string(threads));
    expect_same(r_coords, first_coords, "walk, new points, threads=" + std::to_string(threads));
    EXPECT_EQ(rs_all.stats.evaluations_per_query, first_scan_all.stats.evaluations_per_query);
    EXPECT_EQ(rs_coords.stats.evaluations_per_query, first_scan_coords.stats.evaluations_per_query);
    expect_same(r, first, "threads=" + std::to_string(threads));
    expect_same(ra, first_auto, "auto, threads=" + std::to_string(threads));
    expect_same(rs, first_scan, "scan, threads=" + std::to_string(threads));
    for (const KnnResult* res : {&r, &ra, &rs}) {  // every counter, of every engine
      const KnnStats& s = res->stats;
      const KnnStats& s1 = (res == &r ? first : res == &ra ? first_auto : first_scan).stats;
      EXPECT_EQ(s.evaluations_per_query, s1.evaluations_per_query);
      EXPECT_EQ(s.nodes_visited, s1.nodes_visited);
      EXPECT_EQ(s.subtrees_pruned, s1.subtrees_pruned);
      EXPECT_EQ(s.evaluations_by_level, s1.evaluations_by_level);
      EXPECT_EQ(s.brute_force_queries, s1.brute_force_queries);
      EXPECT_EQ(s.seed_evaluations, s1.seed_evaluations);
      EXPECT_EQ(s.scan_queries, s1.scan_queries);
      EXPECT_EQ(s.probe_evaluations, s1.probe_evaluations);
    }
    EXPECT_EQ(r.stats.distance_evaluations, first.stats.distance_evaluations);
    EXPECT_EQ(bi.distance_evaluations, info.distance_evaluations);
    EXPECT_EQ(bi.rounds, info.rounds);
    ASSERT_EQ(bi.levels.size(), info.levels.size());
    for (size_t i = 0; i < bi.levels.size(); ++i) {
      EXPECT_EQ(bi.levels[i].nodes, info.levels[i].nodes);
      EXPECT_EQ(bi.levels[i].max_radius, info.levels[i].max_radius);
    }
  }
}

TEST(CoverTree, SeedBoundsChangeNoAnswerAndPruneFromTheStart) {
  // Seeded queries walk breadth-first, which only pays because the seed bound prunes from the
  // first node: the tree then evaluates about as many points as best-first (here 1.005x and
  // 1.014x), while the same walk without the seed's pruning evaluates 1.4-1.65x as many.
  const index_t n = 4000;
  const auto x = points(Shape::gaussian, n, 3, 14);
  const auto ind = test::first_ids(n, 64, 11);
  auto model = test::residual_model(x, n, 3, Kernel{}, ind);
  CoverTreeParams off;
  off.seed_bounds = false;
  CoverTreeIndex<ResidualMetric> seeded{ResidualMetric(model)}, best_first(ResidualMetric(model), off);
  for (bool pred : {false, true}) {
    const std::string what = pred ? "predecessor" : "all points";
    const auto a = seeded.knn(QuerySet::all_points(), KnnParams{10, pred, 2});
    const auto b = best_first.knn(QuerySet::all_points(), KnnParams{10, pred, 2});
    expect_same(a, b, what + ", seeded vs best-first");
    EXPECT_EQ(b.stats.seed_evaluations, 0) << what;
    // Every query with at least k = 10 predecessors evaluates min(30, its admissible count).
    std::int64_t seeds = 0;
    for (index_t i = 0; i < n; ++i) seeds += pred ? (i >= 10 ? std::min<index_t>(i, 30) : 0) : 30;
    EXPECT_EQ(a.stats.seed_evaluations, seeds) << what;
    const std::int64_t tree_evals = a.stats.distance_evaluations - a.stats.seed_evaluations;
    EXPECT_LT(tree_evals, 1.1 * static_cast<double>(b.stats.distance_evaluations)) << what;
  }
}

TEST(CoverTree, InsertKeepsInvariantsAndAnswers) {
  const index_t n0 = 500, n1 = 700;
  const auto x = points(Shape::clusters, n0 + n1, 3, 21);
  // Residual: the tree over the first n0 points, then insert the rest.
  const auto ind = test::first_ids(n0, 30, 5);
  Kernel k;
  k.type = KernelType::matern52;
  auto all = test::residual_model(x, n0 + n1, 3, k, ind);
  auto first = test::residual_model(x, n0, 3, k, ind);
  CoverTreeIndex<ResidualMetric> tree{ResidualMetric(first)};
  CoverTreeParams best_first;
  best_first.seed_bounds = false;
  CoverTreeIndex<ResidualMetric> unseeded(ResidualMetric(first), best_first);
  for (auto* t : {&tree, &unseeded}) {
    t->insert(first->embed(MatrixView::row_major(x.data() + 3 * n0, n1 / 2, 3)));
    t->insert(first->embed(MatrixView::row_major(x.data() + 3 * (n0 + n1 / 2), n1 - n1 / 2, 3)));
  }
  ASSERT_EQ(tree.size(), n0 + n1);
  // Seed bounds after inserts (their kd-tree rebuilt over the grown point set) change nothing.
  for (bool pred : {false, true})
    expect_same(tree.knn(QuerySet::all_points(), KnnParams{6, pred, 2}),
                unseeded.knn(QuerySet::all_points(), KnnParams{6, pred, 2}), "insert, seeded vs best-first");
  const auto v = tree.validate();
  ASSERT_TRUE(v.ok) << v.problems[0];
  BruteForceIndex<ResidualMetric> brute{ResidualMetric(all)};
  for (bool pred : {false, true}) {
    const KnnParams p{6, pred, 2};
    // Inserted points' V rows come from embed, in other solve blocks than the full model's,
    // and are bit-identical to its rows (every solve runs on one thread), so the answers are.
    expect_same(tree.knn(QuerySet::all_points(), p), brute.knn(QuerySet::all_points(), p),
                pred ? "insert, predecessor" : "insert");
  }
  // Euclidean: inserting far-away points raises the root level (new top levels above every
  // cluster: both engines, and auto's choice, must still see all of them).
  const auto y = points(Shape::gaussian, 400, 2, 8);
  std::vector<double> far(2 * 200);
  for (size_t i = 0; i < far.size(); ++i) far[i] = y[400 + i] * 1000.0;
  std::vector<double> both(y.begin(), y.begin() + 400);
  both.insert(both.end(), far.begin(), far.end());
  BruteForceIndex<EuclideanMetric> eb{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(both.data(), 400, 2)))};
  for (int mode = 0; mode < 3; ++mode) {  // walk, scan, auto
    CoverTreeParams ep;
    ep.engine = mode == 1 ? TreeEngine::scan : TreeEngine::walk;
    ep.auto_brute = mode == 2;
    CoverTreeIndex<EuclideanMetric> et{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(y.data(), 200, 2))),
                                       ep};
    const int top_before = et.build_info().top_level;
    et.insert(EuclideanSpace::from_coords(MatrixView::row_major(far.data(), 200, 2)));
    EXPECT_GT(et.build_info().top_level, top_before);
    ASSERT_TRUE(et.validate().ok);
    for (bool pred : {false, true})
      for (int k : {1, 5, 60})
        expect_same(et.knn(QuerySet::all_points(), KnnParams{k, pred, 2}),
                    eb.knn(QuerySet::all_points(), KnnParams{k, pred, 2}),
                    "euclid insert mode=" + std::to_string(mode) + " k=" + std::to_string(k));
  }
}

// With the inserted points' factors given explicitly (the same V rows and p as a model over
// all the points), the grown tree must equal the brute force over all the points bit for bit,
// on every engine, after inserts in three parts (the tree, its layout, clusters and seed
// kd-tree rebuilt each time).
TEST(CoverTree, ResidualInsertMatchesBruteForceExactly) {
  const index_t n0 = 600, n = 1500;
  const int d = 3;
  const auto x = points(Shape::clusters, n, d, 41);
  Kernel kern;
  kern.type = KernelType::matern32;
  kern.lengthscale = {0.7};
  const auto full_model = test::residual_model(x, n, d, kern, test::first_ids(n0, 40, 3));
  const ResidualSpace& fs = full_model->space();
  const int m = fs.rank();
  std::vector<double> v(static_cast<size_t>(n) * m), p(n);
  for (index_t i = 0; i < n; ++i) {
    std::copy_n(fs.v_row(i), m, v.data() + static_cast<size_t>(i) * m);
    p[i] = fs.p(i);
  }
  auto factors = [&](index_t begin, index_t end) {
    return std::make_shared<ResidualModel>(ResidualModel::from_factors(
        MatrixView::row_major(x.data() + static_cast<size_t>(begin) * d, end - begin, d), kern,
        MatrixView::row_major(v.data() + static_cast<size_t>(begin) * m, end - begin, m),
        VectorView{p.data() + begin, end - begin, 1}));
  };
  BruteForceIndex<ResidualMetric> brute{ResidualMetric(factors(0, n))};
  const index_t cuts[] = {n0, 900, 1200, n};
  for (int e = 0; e < 3; ++e) {
    CoverTreeParams params;
    params.engine = e == 1 ? TreeEngine::scan : TreeEngine::walk;
    params.auto_brute = e == 2;
    const std::string what = e == 0 ? "walk" : e == 1 ? "scan" : "auto";
    CoverTreeIndex<ResidualMetric> tree{ResidualMetric(factors(0, n0)), params};
    for (int c = 0; c + 1 < 4; ++c) tree.insert(factors(cuts[c], cuts[c + 1])->space(), 2);
    ASSERT_EQ(tree.size(), n);
    const auto val = tree.validate(2);
    ASSERT_TRUE(val.ok) << what << ": " << val.problems[0];
    for (int k : {1, 6, 40})
      for (bool pred : {false, true}) {
        const KnnParams kp{k, pred, 2};
        const auto a = tree.knn(QuerySet::all_points(), kp);
        expect_same(a, brute.knn(QuerySet::all_points(), kp),
                    what + " after inserts, k=" + std::to_string(k) + (pred ? " predecessor" : ""));
        if (e == 1) EXPECT_EQ(a.stats.scan_queries, n) << "the scan answered";
      }
  }
}

// New points as queries after an insert, on both tree engines (a model from inducing points:
// the inserted points' rows come from embed, and so do the brute force's).
TEST(CoverTree, CoordinateQueriesAfterInsertMatchBruteForce) {
  const index_t n0 = 700, n = 1400;
  const int d = 2;
  const auto x = points(Shape::gaussian, n, d, 43);
  const auto model = test::residual_model(x, n0, d, Kernel{}, test::first_ids(n0, 32, 5));
  ResidualSpace grown = model->space();
  grown.append(model->embed(MatrixView::row_major(x.data() + static_cast<size_t>(n0) * d, n - n0, d)), n0);
  const auto qx = points(Shape::gaussian, 200, d, 44);
  const QuerySet qc = QuerySet::by_coords(MatrixView::row_major(qx.data(), 200, d));
  const ResidualSpace qs = model->embed(MatrixView::row_major(qx.data(), 200, d));
  std::vector<index_t> qrows(200), qids(200, -1);
  std::iota(qrows.begin(), qrows.end(), index_t{0});
  for (TreeEngine engine : {TreeEngine::walk, TreeEngine::scan}) {
    CoverTreeParams params;
    params.engine = engine;
    CoverTreeIndex<ResidualMetric> tree{ResidualMetric(model), params};
    tree.insert(model->embed(MatrixView::row_major(x.data() + static_cast<size_t>(n0) * d, n - n0, d)), 2);
    for (int k : {1, 9}) {
      const KnnParams kp{k, false, 2};
      const auto b = brute_force_search(grown, qs, qrows, qids, kp);
      const std::string what = engine == TreeEngine::scan ? "scan" : "walk";
      expect_same(tree.knn(qc, kp), b, what + " coords after insert, k=" + std::to_string(k));
    }
  }
}

TEST(CoverTree, NewCoordinateQueriesMatchBruteForce) {
  const index_t n = 1000;
  const auto x = points(Shape::gaussian, n, 3, 30);
  const auto qx = points(Shape::gaussian, 50, 3, 31);
  const auto ind = test::first_ids(n, 40, 9);
  auto model = test::residual_model(x, n, 3, Kernel{}, ind);
  CoverTreeIndex<ResidualMetric> tree{ResidualMetric(model)};
  BruteForceIndex<ResidualMetric> brute{ResidualMetric(model)};
  const auto qs = QuerySet::by_coords(MatrixView::row_major(qx.data(), 50, 3));
  expect_same(tree.knn(qs, KnnParams{7, false, 2}), brute.knn(qs, KnnParams{7, false, 2}), "coords");
  EuclideanMetric em(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 3)));
  CoverTreeIndex<EuclideanMetric> et{em};
  BruteForceIndex<EuclideanMetric> eb{em};
  expect_same(et.knn(qs, KnnParams{7, false, 2}), eb.knn(qs, KnnParams{7, false, 2}), "euclid coords");
}

TEST(CoverTree, AutoAnswersExactlyWithEitherEngine) {
  // "auto" keeps the tree's answers for a sample of the queries and sends each other query to
  // the engine the sample shows is cheaper for it (k = 4 here), or runs the brute force for
  // the whole call (k = 700: k > N / 8). Either way the answer is the brute force's, bit for bit.
  const index_t n = 5000;
  const auto x = points(Shape::gaussian, n, 2, 33);
  EuclideanMetric m(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)));
  CoverTreeParams params;
  params.auto_brute = true;
  CoverTreeIndex<EuclideanMetric> tree(m, params);
  BruteForceIndex<EuclideanMetric> brute(m);
  for (bool pred : {false, true})
    for (int k : {4, 700}) {
      const KnnParams p{k, pred, 2};
      const auto a = tree.knn(QuerySet::all_points(), p);
      const auto b = brute.knn(QuerySet::all_points(), p);
      const std::string what = "auto k=" + std::to_string(k) + (pred ? " predecessor" : "");
      expect_same(a, b, what);
      if (k == 4) {
        EXPECT_LT(a.stats.distance_evaluations * 10, b.stats.distance_evaluations) << what << ": the tree answered";
        EXPECT_FALSE(a.stats.evaluations_by_level.empty()) << what;
        // Predecessor mode splits the call: the first ids scan fewer points than 3 x the
        // tree's evaluations per query, so the brute force answers them; the rest go to the tree.
        if (pred) {
          EXPECT_GT(a.stats.brute_force_queries, 20) << what;
          EXPECT_LT(a.stats.brute_force_queries, n / 10) << what;
        } else {
          EXPECT_EQ(a.stats.brute_force_queries, 0) << what;
        }
      } else {
        EXPECT_EQ(a.stats.brute_force_queries, n) << what;
        EXPECT_EQ(a.stats.evaluations_per_query, b.stats.evaluations_per_query) << what << ": the brute force answered";
      }
    }
  // New points (coordinates) as queries: the sample + split path (k = 4, 300 queries) and the
  // brute force over the original-order points (k = 700).
  const auto qx = points(Shape::gaussian, 300, 2, 34);
  const QuerySet qc = QuerySet::by_coords(MatrixView::row_major(qx.data(), 300, 2));
  for (int k : {4, 700}) {
    const auto a = tree.knn(qc, KnnParams{k, false, 2});
    expect_same(a, brute.knn(qc, KnnParams{k, false, 2}), "auto coords k=" + std::to_string(k));
    EXPECT_EQ(a.stats.brute_force_queries, k == 4 ? 0 : 300);
  }
  // After an insert the brute-force part scans the tree-ordered points by id.
  const index_t n0 = 4000;
  CoverTreeIndex<EuclideanMetric> grown(
      EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n0, 2))), params);
  grown.insert(EuclideanSpace::from_coords(MatrixView::row_major(x.data() + 2 * n0, n - n0, 2)));
  const auto a = grown.knn(QuerySet::all_points(), KnnParams{4, true, 2});
  expect_same(a, brute.knn(QuerySet::all_points(), KnnParams{4, true, 2}), "auto after insert, predecessor");
  EXPECT_GT(a.stats.brute_force_queries, 20);
  expect_same(grown.knn(qc, KnnParams{700, false, 2}), brute.knn(qc, KnnParams{700, false, 2}),
              "auto after insert, coords k=700");
}

TEST(CoverTree, RejectsBadParameters) {
  const auto x = points(Shape::gaussian, 20, 2, 1);
  EuclideanMetric m(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 20, 2)));
  CoverTreeParams p;
  p.base = 1.0;
  EXPECT_THROW((CoverTreeIndex<EuclideanMetric>(m, p)), std::invalid_argument);
  CoverTreeIndex<EuclideanMetric> t(m);
  EXPECT_THROW(t.knn(QuerySet::all_points(), KnnParams{21, false, 1}), std::invalid_argument);
  EXPECT_THROW(t.knn(QuerySet::all_points(), KnnParams{3, false, kMaxThreads + 1}), std::invalid_argument);
  EXPECT_THROW(t.insert(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 2, 1))), std::invalid_argument);
}

}  // namespace
}  // namespace pcct

namespace pcct {
namespace {

TEST(GroupByKey, FewItemsSortedByKeyAndPositionEqualTheCountingSort) {
  // Few items skip the O(keys) count array (a one-query call would allocate it per call); both
  // paths must give the same stable order.
  std::mt19937_64 g(3);
  for (size_t items_n : {0, 1, 5, 31, 32, 33, 200, 1000}) {
    for (size_t keys : {10, 64, 1000, 100000}) {
      std::vector<std::pair<std::int32_t, int>> items(items_n);
      for (size_t i = 0; i < items_n; ++i)
        items[i] = {static_cast<std::int32_t>(g() % keys), static_cast<int>(i)};
      auto key = [](const std::pair<std::int32_t, int>& p) { return p.first; };
      auto expect = items;
      std::stable_sort(expect.begin(), expect.end(), [](auto& a, auto& b) { return a.first < b.first; });
      std::vector<std::int64_t> count;
      std::vector<std::int32_t> touched;
      std::vector<std::pair<std::int32_t, int>> sorted;
      auto fresh = items;
      tree::group_by_key(fresh, key, keys, count, touched, sorted);  // whichever path fits
      EXPECT_EQ(fresh, expect) << items_n << " items, " << keys << " keys";
      std::vector<std::int64_t> sized(keys + 1, 0);  // a grown count array: always counting
      auto counted = items;
      tree::group_by_key(counted, key, keys, sized, touched, sorted);
      EXPECT_EQ(counted, expect) << items_n << " items, " << keys << " keys";
      EXPECT_TRUE(std::all_of(sized.begin(), sized.end(), [](std::int64_t c) { return c == 0; }));
    }
  }
}

}  // namespace
}  // namespace pcct
