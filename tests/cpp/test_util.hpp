#pragma once
// Test helpers: random data and naive long-double references (independent of the library's
// kernels, factorisation and SIMD code).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "pcct/knn/knn_types.hpp"
#include "pcct/model/residual_model.hpp"

namespace pcct::test {

inline std::vector<double> normal_matrix(index_t n, int d, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd(0.0, scale);
  std::vector<double> x(static_cast<size_t>(n) * d);
  for (auto& v : x) v = nd(g);
  return x;
}

inline std::vector<index_t> first_ids(index_t n, index_t m, index_t step = 1) {
  std::vector<index_t> ids(m);
  for (index_t i = 0; i < m; ++i) ids[i] = (i * step) % n;
  return ids;
}

/// Point sets with the shapes that stress exact search: ties, duplicates, clusters, lines.
enum class Shape { gaussian, clusters, duplicates, line, identical, grid };

inline std::vector<double> points(Shape shape, index_t n, int d, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd;
  std::vector<double> x(static_cast<size_t>(n) * d);
  switch (shape) {
    case Shape::gaussian:
      for (auto& v : x) v = nd(g);
      break;
    case Shape::clusters:
      for (index_t i = 0; i < n; ++i)
        for (int t = 0; t < d; ++t) x[i * d + t] = 3.0 * ((i % 7) - 3) + 0.05 * nd(g);
      break;
    case Shape::duplicates:
      for (index_t i = 0; i < n; ++i) {
        std::mt19937_64 h(i % 9);
        for (int t = 0; t < d; ++t) x[i * d + t] = nd(h);
      }
      break;
    case Shape::line:
      for (index_t i = 0; i < n; ++i) {
        const double s = nd(g);
        for (int t = 0; t < d; ++t) x[i * d + t] = s * (t + 1);
      }
      break;
    case Shape::identical:
      for (auto& v : x) v = 0.25;
      break;
    case Shape::grid:
      for (auto& v : x) v = static_cast<double>(static_cast<int>(g() % 5)) - 2.0;
      break;
  }
  return x;
}

/// A residual model over the first n rows of x (n x d, row-major) with the given inducing ids.
inline std::shared_ptr<ResidualModel> residual_model(const std::vector<double>& x, index_t n, int d,
                                                     const Kernel& kernel, const std::vector<index_t>& inducing) {
  return std::make_shared<ResidualModel>(ResidualModel::from_inducing(
      MatrixView::row_major(x.data(), n, d), kernel,
      IdView{inducing.data(), static_cast<index_t>(inducing.size()), 1}));
}


/// Closed-form kernel value in long double.
inline long double kernel_ref(KernelType t, long double variance, long double r) {
  switch (t) {
    case KernelType::rbf: return variance * std::exp(-0.5L * r * r);
    case KernelType::matern12: return variance * std::exp(-r);
    case KernelType::matern32: {
      const long double s = std::sqrt(3.0L) * r;
      return variance * (1 + s) * std::exp(-s);
    }
    case KernelType::matern52: {
      const long double s = std::sqrt(5.0L) * r;
      return variance * (1 + s + s * s / 3) * std::exp(-s);
    }
  }
  return 0;
}

inline long double kernel_ref(const Kernel& k, const double* a, const double* b, int d) {
  long double r2 = 0;
  for (int t = 0; t < d; ++t) {
    const long double diff = (static_cast<long double>(a[t]) - b[t]) / k.lengthscale_of(t);
    r2 += diff * diff;
  }
  return kernel_ref(k.type, k.variance, std::sqrt(r2));
}

/// Two answers agree entry for entry (ids and distances, bit for bit); reports the first few
/// differences, naming the engine under test.
inline void expect_same(const KnnResult& a, const KnnResult& b, const std::string& what,
                        const char* engine = "engine") {
  ASSERT_EQ(a.ids.size(), b.ids.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < a.ids.size() && bad < 5; ++i)
    if (a.ids[i] != b.ids[i] || a.distances[i] != b.distances[i]) {
      ++bad;
      ADD_FAILURE() << what << " entry " << i << ": " << engine << " (" << a.ids[i] << ", " << a.distances[i]
                    << ") reference (" << b.ids[i] << ", " << b.distances[i] << ")";
    }
}

/// Naive exact k-NN from a pairwise distance function: sort every admissible (d, id).
template <class Dist>
KnnResult naive_knn(index_t n, const std::vector<index_t>& qids, int k, bool predecessor, Dist&& dist) {
  KnnResult r;
  r.queries = static_cast<index_t>(qids.size());
  r.k = k;
  for (size_t q = 0; q < qids.size(); ++q) {
    std::vector<std::pair<double, index_t>> all;
    for (index_t j = 0; j < n; ++j) {
      if (predecessor && j >= qids[q]) continue;
      all.emplace_back(dist(q, j), j);
    }
    std::sort(all.begin(), all.end());
    for (int t = 0; t < k; ++t) {
      const bool have = static_cast<size_t>(t) < all.size();
      r.ids.push_back(have ? all[t].second : -1);
      r.distances.push_back(have ? all[t].first : INFINITY);
    }
  }
  return r;
}

}  // namespace pcct::test
