// Throughput of the float64 dot-product tile kernel (simd::Table::dot_tile, the kernel every
// residual evaluation uses) for a few tile shapes, with the point rows drawn from a hot set
// (cached) or from all of a gold-sized V (memory), one thread. Run two copies at once to see
// both cores.
//   pcct_dot_peak [rows=256] [cols=64] [hot_rows=64]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "pcct/core/aligned.hpp"
#include "simd/dispatch.hpp"

int main(int argc, char** argv) {
  const int nr = argc > 1 ? std::atoi(argv[1]) : 256;
  const int nc = argc > 2 ? std::atoi(argv[2]) : 64;
  const long hot = argc > 3 ? std::atol(argv[3]) : 64;
  constexpr long n = 32768;  // rows of a gold-sized V
  constexpr int len = 512;   // its rank
  if (nr < 1 || nc < 1 || hot < 1 || hot > n) {
    std::fprintf(stderr, "usage: pcct_dot_peak [rows >= 1] [cols >= 1] [1 <= hot_rows <= %ld]\n", n);
    return 2;
  }
  pcct::aligned_vector<double> v(static_cast<size_t>(n) * len);
  std::mt19937_64 g(1);
  for (auto& x : v) x = static_cast<double>(g() % 1000) * 1e-3;
  const auto& tab = pcct::simd::table();
  std::vector<long> queries(256);
  for (auto& q : queries) q = static_cast<long>(g() % n);
  std::vector<const double*> a(nr), b(nc);
  std::vector<double> out(static_cast<size_t>(nr) * nc);
  const long evals_wanted = 20'000'000;
  const long tiles = std::max(1L, evals_wanted / (static_cast<long>(nr) * nc));
  const auto t0 = std::chrono::steady_clock::now();
  for (long t = 0; t < tiles; ++t) {
    for (int i = 0; i < nr; ++i) a[i] = v.data() + queries[(t * 7 + i) % 256] * len;
    for (int j = 0; j < nc; ++j) b[j] = v.data() + static_cast<long>(g() % hot) * len;
    tab.dot_tile(a.data(), nr, b.data(), nc, len, out.data(), nc);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double evals = static_cast<double>(tiles) * nr * nc;
  std::printf("%s: tile %d x %d, point rows from %ld: %.1f ns per 512-long dot product, %.1f GFLOP/s\n", tab.name,
              nr, nc, hot, s / evals * 1e9, evals * 2.0 * len / s / 1e9);
  return 0;
}
