#pragma once
// AVX-512 (F + DQ + VL) wrapper, 8 doubles per vector. Compiled only in tables_avx512.cpp.
#include <immintrin.h>

struct IsaAvx512 {
  using V = __m512d;
  static constexpr int width = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  /// The first m (0 < m < 8) lanes of p (the others 0), and a store of the first m lanes.
  static V load_n(const double* p, int m) { return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << m) - 1), p); }
  static void store_n(double* p, V v, int m) { _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << m) - 1), v); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V zero() { return _mm512_setzero_pd(); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V sqrt(V a) { return _mm512_sqrt_pd(a); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V abs(V a) { return _mm512_abs_pd(a); }
  static V select_lt(V x, V y, V a, V b) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, y, _CMP_LT_OQ), b, a); }
  static unsigned gt_mask(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static unsigned ge_mask(const std::int64_t* p, std::int64_t v) {
    return _mm512_cmpge_epi64_mask(_mm512_loadu_si512(p), _mm512_set1_epi64(v));
  }
  static V pow2_shifted(V kd) {
    const __m512i n = _mm512_sub_epi64(_mm512_castpd_si512(kd), _mm512_castpd_si512(_mm512_set1_pd(0x1.8p52)));
    return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(n, _mm512_set1_epi64(1023)), 52));
  }
};
