// Residual-correlation nearest neighbours of a small random GP design, from C++.
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "pcct/knn/brute_force.hpp"
#include "pcct/model/residual_model.hpp"
#include "pcct/tree/cover_tree.hpp"

int main() {
  const pcct::index_t n = 2000;
  const int dim = 2, m = 64, k = 8;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::vector<double> coords(n * dim);
  for (double& c : coords) c = unif(rng);
  std::vector<pcct::index_t> inducing(m);
  for (int j = 0; j < m; ++j) inducing[j] = j * (n / m);

  pcct::Kernel kernel;
  kernel.type = pcct::KernelType::matern32;
  kernel.lengthscale = {0.1};
  auto model = std::make_shared<pcct::ResidualModel>(pcct::ResidualModel::from_inducing(
      pcct::MatrixView::row_major(coords.data(), n, dim), kernel, pcct::IdView{inducing.data(), m, 1}));

  pcct::BruteForceIndex<pcct::ResidualMetric> index{pcct::ResidualMetric(model)};
  pcct::KnnParams params;
  params.k = k;
  params.predecessor = true;  // Vecchia conditioning sets: neighbours among earlier points
  const auto result = index.knn(pcct::QuerySet::all_points(), params);

  const pcct::index_t q = n - 1;
  std::printf("point %ld conditions on:", static_cast<long>(q));
  for (int j = 0; j < k; ++j)
    std::printf(" %ld(%.3f)", static_cast<long>(result.ids[q * k + j]), result.distances[q * k + j]);
  std::printf("\n");
  // The cover tree gives the same answer, id for id and bit for bit.
  pcct::CoverTreeParams tree_params;
  tree_params.engine = pcct::TreeEngine::scan;
  pcct::CoverTreeIndex<pcct::ResidualMetric> tree{pcct::ResidualMetric(model), tree_params};
  const auto from_tree = tree.knn(pcct::QuerySet::all_points(), params);
  if (from_tree.ids != result.ids || from_tree.distances != result.distances) return 2;
  std::printf("cover tree: same answer, %.0f distance evaluations per query\n",
              static_cast<double>(from_tree.stats.distance_evaluations) / n);
  // Sanity for CI: every neighbour precedes the query and rows are sorted.
  for (pcct::index_t i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      const auto id = result.ids[i * k + j];
      if (id >= i || (j > 0 && result.distances[i * k + j] < result.distances[i * k + j - 1] && id >= 0)) return 1;
    }
  return 0;
}
