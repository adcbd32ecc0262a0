// Per-pair arithmetic shared by every ISA. Included by each tables_<isa>.cpp inside an
// anonymous namespace after the ISA wrapper `S` is defined, so each translation unit gets
// its own copy compiled with its own flags (no cross-ISA symbol sharing). The including file
// provides <type_traits> (this file is inside a namespace).
//
// Determinism contract: every lane performs the same IEEE operations in the same order
// as IsaScalar, with explicit fused multiply-adds, so results are bit-identical across
// ISAs and vector widths. Nothing here depends on the lane position.

// exp(x) for x <= 0: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-13 Taylor polynomial
// (truncation < 5e-18), scaled by 2^n built from the exponent bits. Below -708 the result
// is flushed to 0 (it is < 3e-308 there, far below any kernel value that matters).
template <class S>
inline typename S::V exp_nonpos(typename S::V x) {
  using V = typename S::V;
  const V shift = S::set1(0x1.8p52);
  const V kd = S::fma(x, S::set1(0x1.71547652b82fep0), shift);  // round(x / ln2) + shift
  const V n = S::sub(kd, shift);
  V r = S::fma(n, S::set1(-0x1.62e42fefa39efp-1), x);  // ln2 hi
  r = S::fma(n, S::set1(-0x1.abc9e3b39803fp-56), r);   // ln2 lo
  V p = S::set1(1.0 / 6227020800.0);                    // 1/13!
  p = S::fma(p, r, S::set1(1.0 / 479001600.0));
  p = S::fma(p, r, S::set1(1.0 / 39916800.0));
  p = S::fma(p, r, S::set1(1.0 / 3628800.0));
  p = S::fma(p, r, S::set1(1.0 / 362880.0));
  p = S::fma(p, r, S::set1(1.0 / 40320.0));
  p = S::fma(p, r, S::set1(1.0 / 5040.0));
  p = S::fma(p, r, S::set1(1.0 / 720.0));
  p = S::fma(p, r, S::set1(1.0 / 120.0));
  p = S::fma(p, r, S::set1(1.0 / 24.0));
  p = S::fma(p, r, S::set1(1.0 / 6.0));
  p = S::fma(p, r, S::set1(0.5));
  p = S::fma(p, r, S::set1(1.0));
  p = S::fma(p, r, S::set1(1.0));
  const V y = S::mul(p, S::pow2_shifted(kd));
  return S::select_lt(x, S::set1(-708.0), S::zero(), y);
}

// variance * f(r) from r2 = r^2 (r = scaled distance).
template <class S, pcct::KernelType KT>
inline typename S::V kernel_from_r2(typename S::V r2, typename S::V variance) {
  using V = typename S::V;
  if constexpr (KT == pcct::KernelType::rbf) {
    return S::mul(variance, exp_nonpos<S>(S::mul(r2, S::set1(-0.5))));
  } else if constexpr (KT == pcct::KernelType::matern12) {
    const V s = S::sqrt(r2);
    return S::mul(variance, exp_nonpos<S>(S::sub(S::zero(), s)));
  } else if constexpr (KT == pcct::KernelType::matern32) {
    const V s = S::mul(S::sqrt(r2), S::set1(1.7320508075688772));  // sqrt(3)
    const V e = exp_nonpos<S>(S::sub(S::zero(), s));
    return S::mul(variance, S::mul(S::add(S::set1(1.0), s), e));
  } else {
    const V s = S::mul(S::sqrt(r2), S::set1(2.23606797749979));  // sqrt(5)
    const V e = exp_nonpos<S>(S::sub(S::zero(), s));
    const V poly = S::add(S::add(S::set1(1.0), s), S::div(S::mul(s, s), S::set1(3.0)));
    return S::mul(variance, S::mul(poly, e));
  }
}

// Loads and stores of lanes j..j+width-1, or of the first m of them (a row's tail: the other
// lanes read as 0 and are not written). Each lane's arithmetic is the same either way, so a
// tail computed in a partial vector is bit-identical to one computed lane by lane.
template <class S, bool Partial>
inline typename S::V load_lanes(const double* p, int m) {
  if constexpr (Partial) return S::load_n(p, m);
  else return S::load(p);
}
template <class S, bool Partial>
inline void store_lanes(double* p, typename S::V v, int m) {
  if constexpr (Partial) S::store_n(p, v, m);
  else S::store(p, v);
}

// Calls f(std::bool_constant<Partial>{}, j, m) for the full vectors j = 0, width, ... of a row of
// n lanes, then once for its tail of m < width lanes as one partial vector (Partial = true).
template <class S, class F>
inline void for_lanes(int n, F&& f) {
  int j = 0;
  for (; j + S::width <= n; j += S::width) f(std::false_type{}, j, S::width);
  if constexpr (S::width > 1) {
    if (j < n) f(std::true_type{}, j, n - j);
  }
}

// Squared (scaled) distance of lanes j..j+width-1: sequential over dimensions, FMA form.
template <class S, bool Partial = false>
inline typename S::V sq_dist(const pcct::simd::RowArgs& a, int j, int m = S::width) {
  typename S::V acc = S::zero();
  for (int t = 0; t < a.dim; ++t) {
    const typename S::V diff = S::sub(S::set1(a.xq[t]), load_lanes<S, Partial>(a.xp + t * a.ldx + j, m));
    acc = S::fma(diff, diff, acc);
  }
  return acc;
}

// The residual distance from the kernel value: rho = (k - dot) / sqrt(pq pp), |rho| clamped to 1,
// d = sqrt(1 - |rho|) into out[j..] (and |rho| into out_absrho[j..] if given). One copy for the
// row and pair paths, so that both stay bit-identical.
template <class S, bool Partial = false>
inline void store_residual(typename S::V k, typename S::V dot, typename S::V pq, typename S::V pp, double* out,
                           double* out_absrho, int j, int m = S::width) {
  using V = typename S::V;
  const V den = S::sqrt(S::mul(pq, pp));
  const V absrho = S::min(S::abs(S::div(S::sub(k, dot), den)), S::set1(1.0));
  store_lanes<S, Partial>(out + j, S::sqrt(S::sub(S::set1(1.0), absrho)), m);
  if (out_absrho) store_lanes<S, Partial>(out_absrho + j, absrho, m);
}

template <class S, pcct::KernelType KT, bool Partial = false>
inline void residual_lanes(const pcct::simd::RowArgs& a, int j, int m = S::width) {
  const typename S::V k = kernel_from_r2<S, KT>(sq_dist<S, Partial>(a, j, m), S::set1(a.variance));
  store_residual<S, Partial>(k, load_lanes<S, Partial>(a.dots + j, m), S::set1(a.pq),
                             load_lanes<S, Partial>(a.pp + j, m), a.out, a.out_absrho, j, m);
}

template <class S, pcct::KernelType KT>
inline void residual_row_t(const pcct::simd::RowArgs& a) {
  int j = 0;
  for (; j + S::width <= a.n; j += S::width) residual_lanes<S, KT>(a, j);
  if constexpr (S::width > 1) {
    if (j < a.n) residual_lanes<S, KT, true>(a, j, a.n - j);  // the tail in one partial vector
  }
  if (a.qid >= 0) {  // d(i, i) = 0 by definition
    for (int t = 0; t < a.n; ++t) {
      if (a.pid[t] == a.qid) {
        a.out[t] = 0.0;
        if (a.out_absrho) a.out_absrho[t] = 1.0;
      }
    }
  }
}

// Calls f(KernelTag<kt>{}): a runtime kernel type selects the kernel-specialised template.
template <pcct::KernelType KT>
using KernelTag = std::integral_constant<pcct::KernelType, KT>;

template <class F>
inline void with_kernel_type(pcct::KernelType kt, F&& f) {
  switch (kt) {
    case pcct::KernelType::rbf: return f(KernelTag<pcct::KernelType::rbf>{});
    case pcct::KernelType::matern12: return f(KernelTag<pcct::KernelType::matern12>{});
    case pcct::KernelType::matern32: return f(KernelTag<pcct::KernelType::matern32>{});
    case pcct::KernelType::matern52: return f(KernelTag<pcct::KernelType::matern52>{});
  }
}

template <class S>
inline void residual_row(pcct::KernelType kt, const pcct::simd::RowArgs& a) {
  with_kernel_type(kt, [&](auto kt_c) { residual_row_t<S, kt_c.value>(a); });
}

// Flat pair versions (same per-lane arithmetic as the row versions, so bit-identical).
template <class S, bool Partial = false>
inline typename S::V pair_sq_dist(const pcct::simd::PairArgs& a, int j, int m = S::width) {
  typename S::V acc = S::zero();
  for (int t = 0; t < a.dim; ++t) {
    const typename S::V diff =
        S::sub(load_lanes<S, Partial>(a.xq + t * a.ld + j, m), load_lanes<S, Partial>(a.xp + t * a.ld + j, m));
    acc = S::fma(diff, diff, acc);
  }
  return acc;
}

template <class S, pcct::KernelType KT, bool Partial = false>
inline void residual_pair_lanes(const pcct::simd::PairArgs& a, int j, int m = S::width) {
  const typename S::V k = kernel_from_r2<S, KT>(pair_sq_dist<S, Partial>(a, j, m), S::set1(a.variance));
  store_residual<S, Partial>(k, load_lanes<S, Partial>(a.dots + j, m), load_lanes<S, Partial>(a.pq + j, m),
                             load_lanes<S, Partial>(a.pp + j, m), a.out, a.out_absrho, j, m);
}

template <class S, pcct::KernelType KT>
inline void residual_pairs_t(const pcct::simd::PairArgs& a) {
  for_lanes<S>(a.n, [&](auto partial, int j, int m) { residual_pair_lanes<S, KT, partial.value>(a, j, m); });
}

template <class S>
inline void residual_pairs(pcct::KernelType kt, const pcct::simd::PairArgs& a) {
  with_kernel_type(kt, [&](auto kt_c) { residual_pairs_t<S, kt_c.value>(a); });
}

template <class S>
inline void euclidean_pairs(const pcct::simd::PairArgs& a) {
  for_lanes<S>(a.n, [&](auto partial, int j, int m) {
    constexpr bool P = partial.value;
    store_lanes<S, P>(a.out + j, S::sqrt(pair_sq_dist<S, P>(a, j, m)), m);
  });
}

template <class S>
inline void euclidean_row(const pcct::simd::RowArgs& a) {
  for_lanes<S>(a.n, [&](auto partial, int j, int m) {
    constexpr bool P = partial.value;
    store_lanes<S, P>(a.out + j, S::sqrt(sq_dist<S, P>(a, j, m)), m);
  });
}

template <class S, pcct::KernelType KT>
inline void kernel_row_t(const pcct::simd::RowArgs& a) {
  for_lanes<S>(a.n, [&](auto partial, int j, int m) {
    constexpr bool P = partial.value;
    store_lanes<S, P>(a.out + j, kernel_from_r2<S, KT>(sq_dist<S, P>(a, j, m), S::set1(a.variance)), m);
  });
}

template <class S>
inline void kernel_row(pcct::KernelType kt, const pcct::simd::RowArgs& a) {
  with_kernel_type(kt, [&](auto kt_c) { kernel_row_t<S, kt_c.value>(a); });
}

template <class S, pcct::KernelType KT>
inline void kernel_values_t(double variance, const double* r2, int n, double* out) {
  for_lanes<S>(n, [&](auto partial, int j, int m) {
    constexpr bool P = partial.value;
    store_lanes<S, P>(out + j, kernel_from_r2<S, KT>(load_lanes<S, P>(r2 + j, m), S::set1(variance)), m);
  });
}

template <class S>
inline void kernel_values(pcct::KernelType kt, double variance, const double* r2, int n, double* out) {
  with_kernel_type(kt, [&](auto kt_c) { kernel_values_t<S, kt_c.value>(variance, r2, n, out); });
}

// Canonical dot product order (all ISAs): eight lane sums s_l = sum_t a[8t+l] b[8t+l]
// accumulated with FMA in increasing t, then ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7)).
inline double canonical_reduce(const double s[8]) {
  const double z0 = s[0] + s[4], z1 = s[1] + s[5], z2 = s[2] + s[6], z3 = s[3] + s[7];
  return (z0 + z2) + (z1 + z3);
}

// Drives a register-blocked micro-kernel Block<RA, RB> (RA a-rows x RB b-rows, RA, RB <= 4)
// over the whole tile.
template <template <int, int> class Block>
inline void dot_tile_driver(const double* const* a, int na, const double* const* b, int nb, int len,
                            double* out, std::int64_t ldo) {
  for (int i = 0; i < na; i += 4) {
    const int ra = na - i < 4 ? na - i : 4;
    for (int j = 0; j < nb; j += 4) {
      const int rb = nb - j < 4 ? nb - j : 4;
      double* o = out + i * ldo + j;
      const double* const* ai = a + i;
      const double* const* bj = b + j;
      switch (ra * 8 + rb) {
#define PCCT_CASE(RA, RB) \
  case RA * 8 + RB: Block<RA, RB>::run(ai, bj, len, o, ldo); break;
        PCCT_CASE(1, 1) PCCT_CASE(1, 2) PCCT_CASE(1, 3) PCCT_CASE(1, 4)
        PCCT_CASE(2, 1) PCCT_CASE(2, 2) PCCT_CASE(2, 3) PCCT_CASE(2, 4)
        PCCT_CASE(3, 1) PCCT_CASE(3, 2) PCCT_CASE(3, 3) PCCT_CASE(3, 4)
        PCCT_CASE(4, 1) PCCT_CASE(4, 2) PCCT_CASE(4, 3) PCCT_CASE(4, 4)
#undef PCCT_CASE
        default: break;
      }
    }
  }
}

// The lanes j..j+width-1 of child_mask (width divides 64, so they share one mask word).
// S::max(y, x) is y > x ? y : x, which is exactly std::max(x, y) = x < y ? y : x, NaN and
// signed zeros included: the kernel makes the same decision as the scalar test it replaced.
template <class S>
inline unsigned child_keep_lanes(const pcct::simd::ChildArgs& a, int j) {
  using V = typename S::V;
  const V below = S::sub(S::set1(a.visit_lo), S::load(a.hi + j)), above = S::sub(S::load(a.lo + j), S::set1(a.visit_hi));
  const V gap = S::sub(S::max(above, below), S::load(a.reach + j));
  const unsigned all = (1u << S::width) - 1;
  return ~(S::gt_mask(gap, S::set1(a.thr)) | S::ge_mask(a.min_id + j, a.id_limit)) & all;
}

template <class S>
inline int child_mask(const pcct::simd::ChildArgs& a, std::uint64_t* mask) {
  int j = 0, count = 0;
  for (; j + S::width <= a.n; j += S::width) {
    const unsigned keep = child_keep_lanes<S>(a, j);
    mask[j >> 6] |= static_cast<std::uint64_t>(keep) << (j & 63);
    count += __builtin_popcount(keep);
  }
  for (; j < a.n; ++j) {
    const unsigned keep = child_keep_lanes<IsaScalar>(a, j);
    mask[j >> 6] |= static_cast<std::uint64_t>(keep) << (j & 63);
    count += static_cast<int>(keep);
  }
  return count;
}

template <class S>
inline pcct::simd::Table make_table(pcct::simd::Level level, const char* name,
                                    decltype(pcct::simd::Table::dot_tile) dot) {
  return pcct::simd::Table{level,          name,           dot, &residual_row<S>, &euclidean_row<S>,
                           &residual_pairs<S>, &euclidean_pairs<S>, &kernel_row<S>, &kernel_values<S>,
                           &child_mask<S>};
}
