#include "pcct/metric/euclidean_space.hpp"

#include "metric/check.hpp"
#include "metric/thin_tile.hpp"
#include "simd/dispatch.hpp"

namespace pcct {

EuclideanSpace EuclideanSpace::from_coords(MatrixView coords, const char* what) {
  detail::require_nonempty(coords, what);
  EuclideanSpace s;
  s.n_ = coords.rows;
  s.dim_ = static_cast<int>(coords.cols);
  s.xs_.resize(static_cast<size_t>(s.n_) * s.dim_);
  s.ids_.resize(s.n_);
  for (index_t i = 0; i < s.n_; ++i) {
    s.ids_[i] = i;
    for (int t = 0; t < s.dim_; ++t) s.xs_[t * s.n_ + i] = coords(i, t);
  }
  // The copy is checked, not the caller's array: what is checked is what is used, even if
  // another thread writes to that array during the call.
  const MatrixView kept{s.xs_.data(), s.n_, s.dim_, 1, s.n_};
  detail::require_finite(kept, what);
  detail::require_representable(kept, what);
  return s;
}

EuclideanSpace EuclideanSpace::permuted(std::span<const index_t> order, int /*n_threads*/) const {
  for (size_t r = 0; r < order.size(); ++r)
    PCCT_REQUIRE_RANGE(order[r] >= 0 && order[r] < n_, "permuted: row ", order[r], " at position ", r,
                       " is out of range [0, ", n_, ")");
  EuclideanSpace s;
  s.n_ = static_cast<index_t>(order.size());
  s.dim_ = dim_;
  s.xs_.resize(static_cast<size_t>(s.n_) * dim_);
  s.ids_.resize(s.n_);
  for (index_t r = 0; r < s.n_; ++r) {
    const index_t src = order[r];
    s.ids_[r] = ids_[src];
    for (int t = 0; t < dim_; ++t) s.xs_[t * s.n_ + r] = xs_[t * n_ + src];
  }
  return s;
}

void EuclideanSpace::mark_external() {
  for (auto& id : ids_) id = -1;
}

void EuclideanSpace::require_appendable(const EuclideanSpace& more) const {
  // Rows can only come from from_coords (checked there); the dimension is what can differ.
  PCCT_REQUIRE(more.dim_ == dim_, "appended points have dimension ", more.dim_, ", expected ", dim_);
}

void EuclideanSpace::append(const EuclideanSpace& more, index_t first_id) {
  require_appendable(more);
  const index_t n = n_ + more.n_;
  std::vector<double> xs(static_cast<size_t>(n) * dim_);
  for (int t = 0; t < dim_; ++t) {
    for (index_t i = 0; i < n_; ++i) xs[t * n + i] = xs_[t * n_ + i];
    for (index_t i = 0; i < more.n_; ++i) xs[t * n + n_ + i] = more.xs_[t * more.n_ + i];
  }
  for (index_t i = 0; i < more.n_; ++i) ids_.push_back(first_id + i);
  xs_ = std::move(xs);
  n_ = n;
}

double EuclideanSpace::distance(const EuclideanSpace& qs, index_t a, index_t b) const {
  Scratch scratch;
  double out = 0;
  evaluate(qs, Rows::range(a, 1), Rows::range(b, 1), &out, nullptr, 1, scratch);
  return out;
}

void EuclideanSpace::evaluate(const EuclideanSpace& qs, Rows q, Rows p, double* out, double* /*aux*/,
                              index_t ld, Scratch& sc) const {
  const auto& tab = simd::table();
  if (p.count < detail::kThinTile) {
    const int nq = q.count, np = p.count;
    tab.euclidean_pairs(detail::gather_pairs(qs.xs_.data(), qs.n_, xs_.data(), n_, dim_, q, p, sc));
    for (int i = 0; i < nq; ++i)
      for (int j = 0; j < np; ++j) out[i * ld + j] = sc.pair_out[static_cast<size_t>(i) * np + j];
    return;
  }
  simd::RowArgs args;
  args.n = p.count;
  args.dim = dim_;
  if (p.contiguous()) {
    args.xp = xs_.data() + p.start;
    args.ldx = n_;
  } else {
    if (sc.xp.size() < static_cast<size_t>(dim_) * p.count) sc.xp.resize(static_cast<size_t>(dim_) * p.count);
    for (int t = 0; t < dim_; ++t)
      for (int j = 0; j < p.count; ++j) sc.xp[t * p.count + j] = xs_[t * n_ + p.idx[j]];
    args.xp = sc.xp.data();
    args.ldx = p.count;
  }
  if (sc.xq.size() < static_cast<size_t>(dim_)) sc.xq.resize(dim_);
  for (int i = 0; i < q.count; ++i) {
    const index_t qr = q[i];
    for (int t = 0; t < dim_; ++t) sc.xq[t] = qs.xs_[t * qs.n_ + qr];
    args.xq = sc.xq.data();
    args.out = out + i * ld;
    tab.euclidean_row(args);
  }
}

}  // namespace pcct
