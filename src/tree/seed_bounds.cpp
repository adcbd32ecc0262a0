#include "tree/seed_bounds.hpp"

#include <algorithm>
#include <limits>

#include "pcct/metric/metrics.hpp"

namespace pcct::tree {

std::unique_ptr<SeedBounds> SeedBounds::build(const ResidualSpace& space, const std::vector<index_t>& row_of_id) {
  const int dim = space.dim();
  if (dim > kMaxDim) return nullptr;
  const index_t n = space.size();
  std::vector<double> x(static_cast<size_t>(n) * dim);
  for (index_t id = 0; id < n; ++id)
    for (int t = 0; t < dim; ++t) x[id * dim + t] = space.scaled_coord(row_of_id[id], t);
  auto kd = std::make_unique<KdTreeIndex>(
      EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, dim))));
  return std::unique_ptr<SeedBounds>(new SeedBounds(std::move(kd)));
}

std::int64_t SeedBounds::compute(const ResidualSpace& data, const std::vector<index_t>& row_of_id,
                                 const ResidualSpace& qs, const index_t* qrows, const index_t* qids, int nq, int k,
                                 bool predecessor, double* bound, std::int64_t* evals, Scratch& sc) const {
  std::fill(bound, bound + nq, std::numeric_limits<double>::infinity());
  const index_t m = static_cast<index_t>(kPerNeighbour) * k;
  if (nq == 0 || m * kMaxShare > data.size()) return 0;  // seeds would cost a scan: best-first
  const bool external = qids[0] < 0;
  KnnResult seeds;
  if (external) {  // new points: their scaled coordinates
    const int dim = qs.dim();
    sc.coords.resize(static_cast<size_t>(nq) * dim);
    for (int i = 0; i < nq; ++i)
      for (int t = 0; t < dim; ++t) sc.coords[static_cast<size_t>(i) * dim + t] = qs.scaled_coord(qrows[i], t);
    seeds = kd_->knn(QuerySet::by_coords(MatrixView::row_major(sc.coords.data(), nq, dim)), KnnParams{m, false, 1});
  } else {
    seeds = kd_->knn(QuerySet::by_ids(IdView{qids, nq, 1}), KnnParams{m, predecessor, 1});
  }
  sc.rows.resize(m);
  sc.dist.resize(m);
  std::int64_t total = 0;
  for (int i = 0; i < nq; ++i) {
    int count = 0;
    for (int j = 0; j < m; ++j) {
      const index_t id = seeds.ids[static_cast<size_t>(i) * m + j];
      if (id >= 0) sc.rows[count++] = row_of_id[id];  // -1 pads a predecessor query's short list
    }
    if (count < k) continue;
    data.evaluate(qs, Rows::range(qrows[i], 1), Rows::list(sc.rows.data(), count), sc.dist.data(), nullptr, count,
                  sc.eval);
    evals[i] += count;
    total += count;
    std::nth_element(sc.dist.begin(), sc.dist.begin() + (k - 1), sc.dist.begin() + count);
    bound[i] = sc.dist[k - 1];
  }
  return total;
}

}  // namespace pcct::tree
