// AVX-512 (F/DQ/VL) kernels (compiled with AVX-512 flags; only called after a CPU check).
#include <cstdint>
#include <type_traits>

#include "simd/dispatch.hpp"
#include "simd/isa_avx512.hpp"
#include "simd/isa_scalar.hpp"

namespace {
#include "simd/kernels_impl.hpp"

inline double reduce8(__m512d s) {
  const __m256d z = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
  const __m128d y = _mm_add_pd(_mm256_castpd256_pd128(z), _mm256_extractf128_pd(z, 1));
  return _mm_cvtsd_f64(_mm_add_sd(y, _mm_unpackhi_pd(y, y)));
}

template <int RA, int RB>
struct Avx512Block {
  static void run(const double* const* a, const double* const* b, int len, double* out, std::int64_t ldo) {
    __m512d acc[RA][RB];
    for (int i = 0; i < RA; ++i)
      for (int j = 0; j < RB; ++j) acc[i][j] = _mm512_setzero_pd();
    for (int t = 0; t < len; t += 8) {
      __m512d bv[RB];
      for (int j = 0; j < RB; ++j) bv[j] = _mm512_loadu_pd(b[j] + t);
      for (int i = 0; i < RA; ++i) {
        const __m512d av = _mm512_loadu_pd(a[i] + t);
        for (int j = 0; j < RB; ++j) acc[i][j] = _mm512_fmadd_pd(av, bv[j], acc[i][j]);
      }
    }
    for (int i = 0; i < RA; ++i)
      for (int j = 0; j < RB; ++j) out[i * ldo + j] = reduce8(acc[i][j]);
  }
};

void dot_tile_avx512(const double* const* a, int na, const double* const* b, int nb, int len, double* out,
                     std::int64_t ldo) {
  dot_tile_driver<Avx512Block>(a, na, b, nb, len, out, ldo);
}
}  // namespace

namespace pcct::simd {
const Table& table_avx512() {
  static const Table t = make_table<IsaAvx512>(Level::avx512, "avx512", &dot_tile_avx512);
  return t;
}
}  // namespace pcct::simd
