#pragma once
// AVX2 + FMA wrapper, 4 doubles per vector. Compiled only in tables_avx2.cpp.
#include <immintrin.h>

struct IsaAvx2 {
  using V = __m256d;
  static constexpr int width = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  /// The first m (0 < m < 4) lanes of p (the others 0), and a store of the first m lanes.
  static __m256i lanes_below(int m) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(m), _mm256_setr_epi64x(0, 1, 2, 3)); }
  static V load_n(const double* p, int m) { return _mm256_maskload_pd(p, lanes_below(m)); }
  static void store_n(double* p, V v, int m) { _mm256_maskstore_pd(p, lanes_below(m), v); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V zero() { return _mm256_setzero_pd(); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V sqrt(V a) { return _mm256_sqrt_pd(a); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }  // a < b ? a : b
  static V max(V a, V b) { return _mm256_max_pd(a, b); }  // a > b ? a : b
  static V abs(V a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static V select_lt(V x, V y, V a, V b) { return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, y, _CMP_LT_OQ)); }
  static unsigned gt_mask(V a, V b) { return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_GT_OQ))); }
  static unsigned ge_mask(const std::int64_t* p, std::int64_t v) {  // p >= v: not (v > p)
    const __m256i lt = _mm256_cmpgt_epi64(_mm256_set1_epi64x(v), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return ~static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(lt))) & 0xFu;
  }
  static V pow2_shifted(V kd) {
    const __m256i n = _mm256_sub_epi64(_mm256_castpd_si256(kd), _mm256_castpd_si256(_mm256_set1_pd(0x1.8p52)));
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(n, _mm256_set1_epi64x(1023)), 52));
  }
};
