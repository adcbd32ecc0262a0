#include "pcct/metric/residual_space.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include "core/parallel.hpp"
#include "pcct/core/errors.hpp"
#include "metric/check.hpp"
#include "metric/thin_tile.hpp"
#include "simd/dispatch.hpp"

namespace pcct {

namespace {
constexpr index_t kCopyRows = 2048;  // rows per parallel item when filling or copying V

// The constructor's first initialiser: refuses a negative shape before anything is sized by it.
Kernel checked_shape(Kernel kernel, int dim, int rank, index_t n) {
  PCCT_REQUIRE(dim >= 0 && rank >= 0 && n >= 0, "a residual space needs dim, rank and n >= 0, got ", dim, ", ",
               rank, " and ", n);
  PCCT_REQUIRE(rank <= INT_MAX - 8, "rank ", rank, " is too large (V rows are padded to a multiple of 8)");
  return kernel;
}
}

ResidualSpace::ResidualSpace(Kernel kernel, int dim, int rank, index_t n, int n_threads)
    : kernel_(checked_shape(std::move(kernel), dim, rank, n)),
      n_(n),
      dim_(dim),
      rank_(rank),
      rank_pad_((rank + 7) / 8 * 8),
      v_(static_cast<size_t>(n) * rank_pad_),  // not zeroed by the allocator: zeroed below
      xs_(static_cast<size_t>(n) * dim, 0.0),
      p_(n, 1.0),
      ids_(n, -1) {
  parallel_for((n + kCopyRows - 1) / kCopyRows, resolve_threads(n_threads), [&](index_t b, int) {
    const index_t r0 = b * kCopyRows, r1 = std::min(n, r0 + kCopyRows);
    std::fill(v_.data() + r0 * rank_pad_, v_.data() + r1 * rank_pad_, 0.0);
  });
}

ResidualSpace ResidualSpace::permuted(std::span<const index_t> order, int n_threads) const {
  for (size_t r = 0; r < order.size(); ++r)
    PCCT_REQUIRE_RANGE(order[r] >= 0 && order[r] < n_, "permuted: row ", order[r], " at position ", r,
                       " is out of range [0, ", n_, ")");
  ResidualSpace s(kernel_, dim_, rank_, static_cast<index_t>(order.size()), n_threads);
  s.factorisation_ = factorisation_;
  parallel_for((s.n_ + kCopyRows - 1) / kCopyRows, resolve_threads(n_threads), [&](index_t b, int) {
    for (index_t r = b * kCopyRows; r < std::min(s.n_, (b + 1) * kCopyRows); ++r) {
      const index_t src = order[r];
      std::copy_n(v_row(src), rank_pad_, s.v_row_mut(r));
      for (int t = 0; t < dim_; ++t) s.xs_[t * s.n_ + r] = xs_[t * n_ + src];
      s.p_[r] = p_[src];
      s.ids_[r] = ids_[src];
    }
  });
  return s;
}

void ResidualSpace::mark_external() {
  for (auto& id : ids_) id = -1;
}

void ResidualSpace::require_appendable(const ResidualSpace& more) const {
  PCCT_REQUIRE(more.dim_ == dim_ && more.rank_ == rank_, "appended points have dimension ", more.dim_,
               " and rank ", more.rank_, ", expected ", dim_, " and ", rank_);
  const auto lengthscales = [](const Kernel& k) {
    std::string out;
    for (double l : k.lengthscale) out += (out.empty() ? "" : ",") + detail::concat(l);
    return out;
  };
  PCCT_REQUIRE(more.kernel_ == kernel_,
               "appended points were embedded with a different kernel (", kernel_type_name(more.kernel_.type),
               ", variance ", more.kernel_.variance, ", lengthscale ", lengthscales(more.kernel_),
               ") than these points (", kernel_type_name(kernel_.type), ", variance ", kernel_.variance,
               ", lengthscale ", lengthscales(kernel_), ")");
  PCCT_REQUIRE(more.factorisation_ == factorisation_,
               "appended points' V rows come from another factorisation than these points' (",
               more.factorisation_ == 0 ? "user factors" : "another model's inducing points", " against ",
               factorisation_ == 0 ? "user factors" : "this model's inducing points",
               "); embed new points with the index's own model, or give user factors to an index of user factors");
  // Spaces can be built and edited through public calls: appended rows get the checks the
  // model's constructors apply (a NaN would pass the metric check, whose comparisons it fails).
  for (index_t i = 0; i < more.n_; ++i) {
    for (int t = 0; t < dim_; ++t) {
      const double x = more.scaled_coord(i, t);
      PCCT_REQUIRE(detail::representable(x), "appended point ", i,
                   " has a non-finite or too large coordinate (", x, ") in dimension ", t);
    }
    const double* row = more.v_row(i);
    for (int j = 0; j < rank_; ++j)
      PCCT_REQUIRE(detail::representable(row[j]), "appended point ", i,
                   " has a non-finite or too large V entry (", row[j], ") in column ", j);
    for (int j = rank_; j < rank_pad_; ++j)  // every dot product runs over the padding too
      PCCT_REQUIRE(row[j] == 0.0, "appended point ", i, " has a non-zero V padding entry (", row[j],
                   ") in column ", j, " (rank ", rank_, ")");
    const double p = more.p(i);
    PCCT_REQUIRE(detail::valid_residual_variance(p), "appended point ", i, " has p = ", p,
                 ", outside [1e-150, 1e150]");
  }
}

void ResidualSpace::append(const ResidualSpace& more, index_t first_id) {
  require_appendable(more);
  const index_t n = n_ + more.n_;
  std::vector<double> xs(static_cast<size_t>(n) * dim_);
  for (int t = 0; t < dim_; ++t) {
    std::copy_n(xs_.data() + t * n_, n_, xs.data() + t * n);
    std::copy_n(more.xs_.data() + t * more.n_, more.n_, xs.data() + t * n + n_);
  }
  xs_ = std::move(xs);
  v_.insert(v_.end(), more.v_.begin(), more.v_.end());
  p_.insert(p_.end(), more.p_.begin(), more.p_.end());
  for (index_t i = 0; i < more.n_; ++i) ids_.push_back(first_id + i);
  n_ = n;
}

double ResidualSpace::distance(const ResidualSpace& qs, index_t a, index_t b) const {
  Scratch scratch;
  double out = 0;
  evaluate(qs, Rows::range(a, 1), Rows::range(b, 1), &out, nullptr, 1, scratch);
  return out;
}

void ResidualSpace::evaluate(const ResidualSpace& qs, Rows q, Rows p, double* out, double* aux, index_t ld,
                             Scratch& sc) const {
  const auto& tab = simd::table();
  const int nq = q.count, np = p.count;
  if (nq == 0 || np == 0) return;
  if (sc.qrows.size() < static_cast<size_t>(nq)) sc.qrows.resize(nq);
  if (sc.prows.size() < static_cast<size_t>(np)) sc.prows.resize(np);
  if (sc.dots.size() < static_cast<size_t>(nq) * np) sc.dots.resize(static_cast<size_t>(nq) * np);
  for (int i = 0; i < nq; ++i) sc.qrows[i] = qs.v_row(q[i]);
  for (int j = 0; j < np; ++j) sc.prows[j] = v_row(p[j]);
  tab.dot_tile(sc.qrows.data(), nq, sc.prows.data(), np, rank_pad_, sc.dots.data(), np);

  if (np < detail::kThinTile) {
    const size_t n = static_cast<size_t>(nq) * np;
    simd::PairArgs pa = detail::gather_pairs(qs.xs_.data(), qs.n_, xs_.data(), n_, dim_, q, p, sc);
    for (auto* v : {&sc.pair_pq, &sc.pair_pp, &sc.pair_aux}) if (v->size() < n) v->resize(n);
    for (int i = 0; i < nq; ++i)
      for (int j = 0; j < np; ++j) {
        sc.pair_pq[static_cast<size_t>(i) * np + j] = qs.p_[q[i]];
        sc.pair_pp[static_cast<size_t>(i) * np + j] = p_[p[j]];
      }
    pa.pq = sc.pair_pq.data();
    pa.pp = sc.pair_pp.data();
    pa.dots = sc.dots.data();
    pa.variance = kernel_.variance;
    pa.out_absrho = sc.pair_aux.data();
    tab.residual_pairs(kernel_.type, pa);
    for (int i = 0; i < nq; ++i) {
      const index_t qid = qs.ids_[q[i]];
      for (int j = 0; j < np; ++j) {
        const size_t k = static_cast<size_t>(i) * np + j;
        const bool self = qid >= 0 && qid == ids_[p[j]];  // d(i, i) = 0 by definition
        out[i * ld + j] = self ? 0.0 : sc.pair_out[k];
        if (aux) aux[i * ld + j] = self ? 1.0 : sc.pair_aux[k];
      }
    }
    return;
  }

  simd::RowArgs args;
  args.n = np;
  args.dim = dim_;
  args.variance = kernel_.variance;
  if (p.contiguous()) {
    args.xp = xs_.data() + p.start;
    args.ldx = n_;
    args.pp = p_.data() + p.start;
    args.pid = ids_.data() + p.start;
  } else {
    if (sc.xp.size() < static_cast<size_t>(dim_) * np) sc.xp.resize(static_cast<size_t>(dim_) * np);
    if (sc.pp.size() < static_cast<size_t>(np)) sc.pp.resize(np);
    if (sc.pid.size() < static_cast<size_t>(np)) sc.pid.resize(np);
    for (int t = 0; t < dim_; ++t)
      for (int j = 0; j < np; ++j) sc.xp[t * np + j] = xs_[t * n_ + p.idx[j]];
    for (int j = 0; j < np; ++j) {
      sc.pp[j] = p_[p.idx[j]];
      sc.pid[j] = ids_[p.idx[j]];
    }
    args.xp = sc.xp.data();
    args.ldx = np;
    args.pp = sc.pp.data();
    args.pid = sc.pid.data();
  }
  if (sc.xq.size() < static_cast<size_t>(dim_)) sc.xq.resize(dim_);
  for (int i = 0; i < nq; ++i) {
    const index_t qr = q[i];
    for (int t = 0; t < dim_; ++t) sc.xq[t] = qs.xs_[t * qs.n_ + qr];
    args.xq = sc.xq.data();
    args.pq = qs.p_[qr];
    args.qid = qs.ids_[qr];
    args.dots = sc.dots.data() + static_cast<size_t>(i) * np;
    args.out = out + i * ld;
    args.out_absrho = aux ? aux + i * ld : nullptr;
    tab.residual_row(kernel_.type, args);
  }
}

}  // namespace pcct
