#pragma once
/// Metric policies: the dataset of one metric (points in original order) plus how to turn
/// new coordinates into query points. Engines (brute force, cover tree) are templates over
/// these, so hot loops never pay a virtual call; the virtual `Index` sits at the boundary.
#include <memory>

#include "pcct/core/errors.hpp"
#include "pcct/core/view_checks.hpp"
#include "pcct/metric/euclidean_space.hpp"
#include "pcct/metric/residual_space.hpp"
#include "pcct/model/residual_model.hpp"

namespace pcct {

class EuclideanMetric {
 public:
  using Space = EuclideanSpace;
  static constexpr const char* name = "euclidean";

  /// `space` must hold the dataset in id order (row r is point r, as from_coords makes it):
  /// every engine reads ids as rows. A permuted or external space is refused.
  explicit EuclideanMetric(EuclideanSpace space) : space_(std::move(space)) {
    for (index_t r = 0; r < space_.size(); ++r)
      PCCT_REQUIRE(space_.id(r) == r, "the metric's points must be in id order (row ", r, " holds id ", space_.id(r),
                   "); build them with EuclideanSpace::from_coords");
  }
  const Space& space() const { return space_; }
  /// New points as an external query space (ids -1).
  Space embed(MatrixView coords, int /*n_threads*/) const {
    detail::require_columns(coords, space_.dim(), "queries", "the points have");
    Space s = EuclideanSpace::from_coords(coords, "queries");
    s.mark_external();
    return s;
  }

 private:
  EuclideanSpace space_;
};

class ResidualMetric {
 public:
  using Space = ResidualSpace;
  static constexpr const char* name = "residual_correlation";

  explicit ResidualMetric(std::shared_ptr<const ResidualModel> model) : model_(std::move(model)) {
    PCCT_REQUIRE(model_ != nullptr, "the residual metric needs a model (got a null pointer)");
  }
  // Copy-only: "moving" copies the shared pointer, so a moved-from metric (and the index
  // holding it) still has its model instead of a null one.
  ResidualMetric(const ResidualMetric&) = default;
  ResidualMetric& operator=(const ResidualMetric&) = default;
  const Space& space() const { return model_->space(); }
  const ResidualModel& model() const { return *model_; }
  Space embed(MatrixView coords, int n_threads) const { return model_->embed(coords, n_threads, "queries"); }

 private:
  std::shared_ptr<const ResidualModel> model_;
};

}  // namespace pcct
