#pragma once
// Thin tiles (few points per query) are evaluated pair-parallel by every space: vectorised over
// all nq x np (query, point) pairs instead of along each short row.
#include <cstdint>
#include <vector>

#include "pcct/metric/rows.hpp"
#include "simd/dispatch.hpp"

namespace pcct::detail {

constexpr int kThinTile = 8;  // below this many points per query, evaluate pair-parallel

/// Gathers the coordinates of every pair (q[i], p[j]) into sc.pair_xq and sc.pair_xp,
/// structure-of-arrays with leading dimension nq * np (pair i * np + j; the sources are
/// structure-of-arrays with leading dimensions q_ld and p_ld), sizes sc.pair_out, and returns
/// the pair arguments every space sets: n, dim, ld, xq, xp and out.
template <class Scratch>
simd::PairArgs gather_pairs(const double* q_soa, index_t q_ld, const double* p_soa, index_t p_ld, int dim, Rows q,
                            Rows p, Scratch& sc) {
  const size_t n = static_cast<size_t>(q.count) * p.count;
  for (auto* v : {&sc.pair_xq, &sc.pair_xp})
    if (v->size() < n * dim) v->resize(n * dim);
  if (sc.pair_out.size() < n) sc.pair_out.resize(n);
  for (int i = 0; i < q.count; ++i) {
    const index_t qr = q[i];
    for (int j = 0; j < p.count; ++j) {
      const size_t k = static_cast<size_t>(i) * p.count + j;
      const index_t pr = p[j];
      for (int t = 0; t < dim; ++t) {
        sc.pair_xq[t * n + k] = q_soa[t * q_ld + qr];
        sc.pair_xp[t * n + k] = p_soa[t * p_ld + pr];
      }
    }
  }
  simd::PairArgs pa;
  pa.n = static_cast<int>(n);
  pa.dim = dim;
  pa.ld = static_cast<std::int64_t>(n);
  pa.xq = sc.pair_xq.data();
  pa.xp = sc.pair_xp.data();
  pa.out = sc.pair_out.data();
  return pa;
}

}  // namespace pcct::detail
