#pragma once
/// Exact brute-force k-NN: the oracle every other engine is tested against, and the
/// fallback for small problems. Blocked over (query tile x point tile) so the V.V products
/// run through the register-blocked dot kernel; parallel over tiles; per-thread scratch.
#include <span>

#include "pcct/knn/index.hpp"
#include "pcct/metric/metrics.hpp"

namespace pcct {

/// k-NN of query rows `qrows` of `queries` against every row of `data` (in any order; the
/// returned ids are data.id(row)). qids[i] is the dataset id of query i (-1 for new points),
/// used by predecessor mode (only ids < qids[i] are admissible). When data rows are not in id
/// order, `row_of_id` (id -> row) lets predecessor mode scan ids in order and stop at the query
/// id, as for data in id order; without it every row is scanned and filtered.
/// Throws unless: data has at least one point; 1 <= k < 2^31; qids and qrows have the same
/// length; every qrows entry is a row of `queries`; queries have the data's dimension (and,
/// residual, its rank, kernel and factorisation: rows embedded by the data's model);
/// row_of_id is empty or maps every id to the row holding it.
template <class Space>
KnnResult brute_force_search(const Space& data, const Space& queries, std::span<const index_t> qrows,
                             std::span<const index_t> qids, const KnnParams& params,
                             std::span<const index_t> row_of_id = {});

template <class Metric>
class BruteForceIndex final : public Index {
 public:
  explicit BruteForceIndex(Metric metric) : metric_(std::move(metric)) {}
  index_t size() const override { return metric_.space().size(); }
  int dim() const override { return metric_.space().dim(); }
  const char* metric_name() const override { return Metric::name; }
  const char* algorithm_name() const override { return "brute"; }
  KnnResult knn(const QuerySet& queries, const KnnParams& params) const override;
  const Metric& metric() const { return metric_; }

 private:
  Metric metric_;
};

extern template class BruteForceIndex<EuclideanMetric>;
extern template class BruteForceIndex<ResidualMetric>;

}  // namespace pcct
