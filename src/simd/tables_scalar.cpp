// Portable reference kernels (no SIMD flags).
#include <cstdint>
#include <type_traits>

#include "simd/dispatch.hpp"
#include "simd/isa_scalar.hpp"

namespace {
#include "simd/kernels_impl.hpp"

template <int RA, int RB>
struct ScalarBlock {
  static void run(const double* const* a, const double* const* b, int len, double* out, std::int64_t ldo) {
    for (int i = 0; i < RA; ++i) {
      for (int j = 0; j < RB; ++j) {
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int t = 0; t < len; t += 8)
          for (int l = 0; l < 8; ++l) s[l] = __builtin_fma(a[i][t + l], b[j][t + l], s[l]);
        out[i * ldo + j] = canonical_reduce(s);
      }
    }
  }
};

void dot_tile_scalar(const double* const* a, int na, const double* const* b, int nb, int len, double* out,
                     std::int64_t ldo) {
  dot_tile_driver<ScalarBlock>(a, na, b, nb, len, out, ldo);
}
}  // namespace

namespace pcct::simd {
const Table& table_scalar() {
  static const Table t = make_table<IsaScalar>(Level::scalar, "scalar", &dot_tile_scalar);
  return t;
}
}  // namespace pcct::simd
