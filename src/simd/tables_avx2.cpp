// AVX2 + FMA kernels (compiled with -mavx2 -mfma; only called after a CPU check).
#include <cstdint>
#include <type_traits>

#include "simd/dispatch.hpp"
#include "simd/isa_avx2.hpp"
#include "simd/isa_scalar.hpp"

namespace {
#include "simd/kernels_impl.hpp"

// A pair's canonical 8 lanes live in two registers: lanes 0-3 (lo) and 4-7 (hi).
inline double reduce_pair(__m256d lo, __m256d hi) {
  const __m256d z = _mm256_add_pd(lo, hi);  // s0+s4, s1+s5, s2+s6, s3+s7
  const __m128d y = _mm_add_pd(_mm256_castpd256_pd128(z), _mm256_extractf128_pd(z, 1));
  return _mm_cvtsd_f64(_mm_add_sd(y, _mm_unpackhi_pd(y, y)));
}

template <int RA, int RB>
struct Avx2Block {
  static void run(const double* const* a, const double* const* b, int len, double* out, std::int64_t ldo) {
    if constexpr (RA * RB > 4) {
      // Keep the register count <= 16: split into 2x2 (or smaller) pieces.
      constexpr int HA = RA > 2 ? 2 : RA, HB = RB > 2 ? 2 : RB;
      Avx2Block<HA, HB>::run(a, b, len, out, ldo);
      if constexpr (RB > 2) Avx2Block<HA, RB - 2>::run(a, b + 2, len, out + 2, ldo);
      if constexpr (RA > 2) {
        Avx2Block<RA - 2, HB>::run(a + 2, b, len, out + 2 * ldo, ldo);
        if constexpr (RB > 2) Avx2Block<RA - 2, RB - 2>::run(a + 2, b + 2, len, out + 2 * ldo + 2, ldo);
      }
    } else {
      __m256d lo[RA][RB], hi[RA][RB];
      for (int i = 0; i < RA; ++i)
        for (int j = 0; j < RB; ++j) lo[i][j] = hi[i][j] = _mm256_setzero_pd();
      for (int t = 0; t < len; t += 8) {
        __m256d blo[RB], bhi[RB];
        for (int j = 0; j < RB; ++j) {
          blo[j] = _mm256_loadu_pd(b[j] + t);
          bhi[j] = _mm256_loadu_pd(b[j] + t + 4);
        }
        for (int i = 0; i < RA; ++i) {
          const __m256d alo = _mm256_loadu_pd(a[i] + t), ahi = _mm256_loadu_pd(a[i] + t + 4);
          for (int j = 0; j < RB; ++j) {
            lo[i][j] = _mm256_fmadd_pd(alo, blo[j], lo[i][j]);
            hi[i][j] = _mm256_fmadd_pd(ahi, bhi[j], hi[i][j]);
          }
        }
      }
      for (int i = 0; i < RA; ++i)
        for (int j = 0; j < RB; ++j) out[i * ldo + j] = reduce_pair(lo[i][j], hi[i][j]);
    }
  }
};

void dot_tile_avx2(const double* const* a, int na, const double* const* b, int nb, int len, double* out,
                   std::int64_t ldo) {
  dot_tile_driver<Avx2Block>(a, na, b, nb, len, out, ldo);
}
}  // namespace

namespace pcct::simd {
const Table& table_avx2() {
  static const Table t = make_table<IsaAvx2>(Level::avx2, "avx2", &dot_tile_avx2);
  return t;
}
}  // namespace pcct::simd
