// Gold-like residual workload in C++ (N(0, I3) points, RBF, 512 inducing points, k = 50) for
// profiling with perf or valgrind --tool=callgrind. The point generator differs from NumPy's,
// so the numbers are comparable to gold, not identical.
//   pcct_profile [n=32768] [queries=1024] [repeats=3] [mode=all|build|query|pred|scan|predscan|auto|predauto|brute|predbrute]
// (query/pred: the tree walk; scan/predscan: the level scan; auto/predauto: the "auto"
// algorithm; brute: the brute force on the same queries; predbrute: the brute force,
// predecessor mode, all points)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pcct/knn/brute_force.hpp"
#include "pcct/tree/cover_tree.hpp"
#include "pcct/tree/kd_tree.hpp"

using namespace pcct;
using clk = std::chrono::steady_clock;

static double secs(clk::time_point a) { return std::chrono::duration<double>(clk::now() - a).count(); }

int main(int argc, char** argv) {
  const index_t n = argc > 1 ? std::atol(argv[1]) : 32768;
  const index_t nq = argc > 2 ? std::atol(argv[2]) : 1024;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::string mode = argc > 4 ? argv[4] : "all";
  if (mode.rfind("kd", 0) == 0) {  // Euclidean kd-tree, dimension after "kd", k = 8
    const int d = std::atoi(mode.c_str() + 2);
    std::mt19937_64 g(0);
    std::normal_distribution<double> nd;
    std::vector<double> x(static_cast<size_t>(n) * d);
    for (auto& v : x) v = nd(g);
    std::vector<index_t> q(nq);
    for (index_t i = 0; i < nq; ++i) q[i] = static_cast<index_t>(g() % n);
    auto t0 = clk::now();
    KdTreeIndex kd{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, d)))};
    std::printf("kd build: %.4f s\n", secs(t0));
    for (int r = 0; r < repeats; ++r) {
      t0 = clk::now();
      const auto res = kd.knn(QuerySet::by_ids(IdView{q.data(), nq, 1}), KnnParams{8, false, 0});
      std::printf("kd query: %.4f s, %.0f evaluations/query\n", secs(t0),
                  static_cast<double>(res.stats.distance_evaluations) / nq);
    }
    return 0;
  }
  std::mt19937_64 g(42);
  std::normal_distribution<double> nd;
  std::vector<double> x(static_cast<size_t>(n) * 3);
  for (auto& v : x) v = nd(g);
  std::vector<index_t> ind(512);
  for (int i = 0; i < 512; ++i) ind[i] = (static_cast<index_t>(i) * 7919) % n;
  std::vector<index_t> q(nq);
  for (index_t i = 0; i < nq; ++i) q[i] = static_cast<index_t>(g() % n);

  auto t0 = clk::now();
  auto model = std::make_shared<ResidualModel>(
      ResidualModel::from_inducing(MatrixView::row_major(x.data(), n, 3), Kernel{}, IdView{ind.data(), 512, 1}));
  std::printf("V: %.3f s\n", secs(t0));
  // Times `repeats` calls of idx on the gold-like queries (all points in predecessor mode).
  const bool pred = mode == "pred" || mode == "predbrute" || mode == "predscan" || mode == "predauto";
  const QuerySet qs = pred ? QuerySet::all_points() : QuerySet::by_ids(IdView{q.data(), nq, 1});
  auto time_queries = [&](const Index& idx) {
    for (int r = 0; r < repeats; ++r) {
      const auto t = clk::now();
      const auto res = idx.knn(qs, KnnParams{50, pred, 0});
      const double s = secs(t);
      std::printf("query: %.3f s, %.0f q/s, %.0f evaluations/query (brute force %lld, scan %lld queries)\n", s,
                  res.queries / s, static_cast<double>(res.stats.distance_evaluations) / res.queries,
                  static_cast<long long>(res.stats.brute_force_queries), static_cast<long long>(res.stats.scan_queries));
    }
  };
  if (mode == "brute" || mode == "predbrute") {
    time_queries(BruteForceIndex<ResidualMetric>{ResidualMetric(model)});
    return 0;
  }
  t0 = clk::now();
  CoverTreeParams params;
  if (mode == "scan" || mode == "predscan") params.engine = TreeEngine::scan;
  params.auto_brute = mode == "auto" || mode == "predauto";
  CoverTreeIndex<ResidualMetric> tree{ResidualMetric(model), params};
  std::printf("tree build: %.3f s, %.0f evaluations/point\n", secs(t0),
              static_cast<double>(tree.build_info().distance_evaluations) / n);
  if (mode == "build") return 0;
  time_queries(tree);
  return 0;
}
