#pragma once
// Scalar "vector" of width 1 with the same interface as the SIMD ISA wrappers.
// Uses builtins only (no inline library functions), so an out-of-line copy compiled
// with other ISA flags can never be shared through COMDAT folding.
#include <bit>
#include <cstdint>

struct IsaScalar {
  using V = double;
  static constexpr int width = 1;
  static V load(const double* p) { return *p; }
  static void store(double* p, V v) { *p = v; }
  static V set1(double x) { return x; }
  static V zero() { return 0.0; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V fma(V a, V b, V c) { return __builtin_fma(a, b, c); }
  static V sqrt(V a) { return __builtin_sqrt(a); }
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V abs(V a) { return __builtin_fabs(a); }
  /// x < y ? a : b
  static V select_lt(V x, V y, V a, V b) { return x < y ? a : b; }
  /// Bit l set where lane l of a > b (ordered), and where lane l of p[] >= v.
  static unsigned gt_mask(V a, V b) { return a > b; }
  static unsigned ge_mask(const std::int64_t* p, std::int64_t v) { return *p >= v; }
  /// 2^n for kd = 0x1.8p52 + n (n integral, -1022 <= n <= 1023).
  static V pow2_shifted(V kd) {
    const std::int64_t n = std::bit_cast<std::int64_t>(kd) - std::bit_cast<std::int64_t>(0x1.8p52);
    return std::bit_cast<double>(static_cast<std::uint64_t>(n + 1023) << 52);
  }
};
