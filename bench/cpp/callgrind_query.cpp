// Instruction counts of the query phase only, for comparing engines across commits:
//   valgrind --tool=callgrind --instr-atstart=no pcct_callgrind [n=8192] [queries=256] [walk|scan]
// Instrumentation starts just before knn() (client request), so the build runs uninstrumented.
// The engine argument needs TreeEngine (7f4eac0 and later); without it the file builds at
// older commits too.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <valgrind/callgrind.h>

#include "pcct/tree/cover_tree.hpp"

using namespace pcct;

int main(int argc, char** argv) {
  const index_t n = argc > 1 ? std::atol(argv[1]) : 8192;
  const index_t nq = argc > 2 ? std::atol(argv[2]) : 256;
  std::mt19937_64 g(42);
  std::normal_distribution<double> nd;
  std::vector<double> x(static_cast<size_t>(n) * 3);
  for (auto& v : x) v = nd(g);
  std::vector<index_t> ind(512), q(nq);
  for (int i = 0; i < 512; ++i) ind[i] = (static_cast<index_t>(i) * 7919) % n;
  for (index_t i = 0; i < nq; ++i) q[i] = static_cast<index_t>(g() % n);
  auto model = std::make_shared<ResidualModel>(
      ResidualModel::from_inducing(MatrixView::row_major(x.data(), n, 3), Kernel{}, IdView{ind.data(), 512, 1}));
  CoverTreeParams p;
  p.n_threads = 1;
  if (argc > 3 && std::string(argv[3]) == "scan") p.engine = TreeEngine::scan;
  CoverTreeIndex<ResidualMetric> tree{ResidualMetric(model), p};
  KnnParams kp;
  kp.k = 50;
  kp.n_threads = 1;
  CALLGRIND_START_INSTRUMENTATION;
  const auto r = tree.knn(QuerySet::by_ids(IdView{q.data(), nq, 1}), kp);
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%.0f distance evaluations per query\n", static_cast<double>(r.stats.distance_evaluations) / nq);
  return 0;
}
