#pragma once
// Thin tiles (few points per query) are evaluated pair-parallel by every space: vectorised over
// all nq x np (query, point) pairs instead of along each short row.
#include <vector>

#include "pcct/metric/rows.hpp"

namespace pcct::detail {

constexpr int kThinTile = 8;  // below this many points per query, evaluate pair-parallel

/// Coordinates of every pair (q[i], p[j]) into xq and xp, structure-of-arrays with leading
/// dimension nq * np (pair i * np + j); the sources are structure-of-arrays with leading
/// dimensions q_ld and p_ld.
inline void gather_pair_coords(const double* q_soa, index_t q_ld, const double* p_soa, index_t p_ld, int dim, Rows q,
                               Rows p, std::vector<double>& xq, std::vector<double>& xp) {
  const size_t n = static_cast<size_t>(q.count) * p.count;
  for (auto* v : {&xq, &xp})
    if (v->size() < n * dim) v->resize(n * dim);
  for (int i = 0; i < q.count; ++i) {
    const index_t qr = q[i];
    for (int j = 0; j < p.count; ++j) {
      const size_t k = static_cast<size_t>(i) * p.count + j;
      const index_t pr = p[j];
      for (int t = 0; t < dim; ++t) {
        xq[t * n + k] = q_soa[t * q_ld + qr];
        xp[t * n + k] = p_soa[t * p_ld + pr];
      }
    }
  }
}

}  // namespace pcct::detail
