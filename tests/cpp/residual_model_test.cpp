// The residual model against a naive long-double Cholesky and triangular solve, distances
// against the formula, the triangle inequality, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "pcct/model/residual_model.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

struct NaiveModel {
  std::vector<std::vector<long double>> v;  // n x m
  std::vector<long double> p;
};

NaiveModel naive_model(const std::vector<double>& x, index_t n, int d, const Kernel& k, const std::vector<index_t>& ind) {
  const int m = static_cast<int>(ind.size());
  std::vector<std::vector<long double>> a(m, std::vector<long double>(m));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) a[i][j] = test::kernel_ref(k, &x[ind[i] * d], &x[ind[j] * d], d);
  for (int i = 0; i < m; ++i) a[i][i] += 1e-6L * k.variance;
  // Textbook Cholesky, lower.
  std::vector<std::vector<long double>> l(m, std::vector<long double>(m, 0));
  for (int j = 0; j < m; ++j) {
    long double s = a[j][j];
    for (int t = 0; t < j; ++t) s -= l[j][t] * l[j][t];
    l[j][j] = std::sqrt(s);
    for (int i = j + 1; i < m; ++i) {
      long double r = a[i][j];
      for (int t = 0; t < j; ++t) r -= l[i][t] * l[j][t];
      l[i][j] = r / l[j][j];
    }
  }
  NaiveModel out;
  out.v.assign(n, std::vector<long double>(m));
  out.p.resize(n);
  for (index_t i = 0; i < n; ++i) {
    long double ss = 0;
    for (int r = 0; r < m; ++r) {
      long double b = test::kernel_ref(k, &x[ind[r] * d], &x[i * d], d);
      for (int t = 0; t < r; ++t) b -= l[r][t] * out.v[i][t];
      out.v[i][r] = b / l[r][r];
      ss += out.v[i][r] * out.v[i][r];
    }
    out.p[i] = std::max<long double>(k.variance - ss, 1e-9L);
  }
  return out;
}

Kernel make_kernel(KernelType t, double var, std::vector<double> ls) {
  Kernel k;
  k.type = t;
  k.variance = var;
  k.lengthscale = std::move(ls);
  return k;
}

TEST(ResidualModel, MatchesNaiveFactorisation) {
  const index_t n = 80;
  for (int d : {1, 2, 3}) {
    for (KernelType t : {KernelType::rbf, KernelType::matern12, KernelType::matern32, KernelType::matern52}) {
      const auto x = test::normal_matrix(n, d, 10 + d);
      const auto k = make_kernel(t, 1.7, d == 2 ? std::vector<double>{0.6, 1.4} : std::vector<double>{0.8});
      const auto ind = test::first_ids(n, 12, 7);
      const auto model = ResidualModel::from_inducing(MatrixView::row_major(x.data(), n, d), k, IdView{ind.data(), 12, 1});
      const auto ref = naive_model(x, n, d, k, ind);
      ASSERT_EQ(model.rank(), 12);
      for (index_t i = 0; i < n; ++i) {
        for (int r = 0; r < 12; ++r) EXPECT_NEAR(model.space().v_row(i)[r], static_cast<double>(ref.v[i][r]), 1e-9);
        EXPECT_EQ(model.space().v_row(i)[12], 0.0);  // zero padding
        // p cancels: its absolute error is ~ m * eps * variance / (conditioning).
        EXPECT_NEAR(model.space().p(i), static_cast<double>(ref.p[i]), 1e-8 * k.variance);
      }
    }
  }
}

TEST(ResidualModel, DistanceMatchesFormulaAndIsAMetric) {
  const index_t n = 120;
  const int d = 3;
  const auto x = test::normal_matrix(n, d, 4);
  const auto k = make_kernel(KernelType::matern52, 1.0, {1.1});
  const auto ind = test::first_ids(n, 10, 11);
  const auto model = ResidualModel::from_inducing(MatrixView::row_major(x.data(), n, d), k, IdView{ind.data(), 10, 1});
  const auto& s = model.space();
  std::vector<double> dm(n * n);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < n; ++j) {
      dm[i * n + j] = s.distance(s, i, j);
      // Formula with the model's own V and p, in long double.
      long double dot = 0;
      for (int r = 0; r < model.rank(); ++r) dot += static_cast<long double>(s.v_row(i)[r]) * s.v_row(j)[r];
      const long double kij = test::kernel_ref(k, &x[i * d], &x[j * d], d);
      long double rho = (kij - dot) / std::sqrt(static_cast<long double>(s.p(i)) * s.p(j));
      rho = std::min<long double>(std::abs(rho), 1);
      const long double want2 = i == j ? 0 : 1 - rho;
      // Rounding of K - V.V relative to sqrt(p_i p_j) bounds the error of d^2 = 1 - |rho|.
      const double tol = 64 * 1.2e-16 * (model.rank() + 8) / std::sqrt(s.p(i) * s.p(j)) + 1e-15;
      EXPECT_NEAR(dm[i * n + j] * dm[i * n + j], static_cast<double>(want2), tol) << i << "," << j;
    }
  }
  for (index_t i = 0; i < n; ++i) {
    EXPECT_EQ(dm[i * n + i], 0.0);
    for (index_t j = 0; j < n; ++j) {
      EXPECT_EQ(dm[i * n + j], dm[j * n + i]);  // symmetric bit for bit
      for (index_t c = 0; c < n; c += 7) EXPECT_LE(dm[i * n + c], dm[i * n + j] + dm[j * n + c] + 1e-12);
    }
  }
}

TEST(ResidualModel, EmbedReproducesDatasetPoints) {
  const index_t n = 300;
  const auto x = test::normal_matrix(n, 3, 5);
  const auto ind = test::first_ids(n, 40, 7);
  const auto model = ResidualModel::from_inducing(MatrixView::row_major(x.data(), n, 3), Kernel{}, IdView{ind.data(), 40, 1});
  const auto e = model.embed(MatrixView::row_major(x.data() + 3 * 17, 5, 3));
  for (index_t i = 0; i < 5; ++i) {
    EXPECT_EQ(e.id(i), -1);
    for (int r = 0; r < 40; ++r) EXPECT_NEAR(e.v_row(i)[r], model.space().v_row(17 + i)[r], 1e-14);
    EXPECT_NEAR(e.p(i), model.space().p(17 + i), 1e-13);
  }
}

// V rows are bit-identical whatever the thread count and however many points are embedded
// together. OpenBLAS, left to itself, splits a solve over threads when called outside a
// parallel region (small calls), and solves a call's last columns beyond a multiple of its
// kernel width in another order; either changed the last bits, and the metric turned those
// into ~1e-5 in distances (a point queried by id and by its coordinates got other answers).
TEST(ResidualModel, FactorRowsDoNotDependOnThreadsOrBatch) {
  const index_t n = 1500;
  const int m = 512;
  const auto x = test::normal_matrix(n, 3, 9);
  const auto ind = test::first_ids(n, m, 2);
  const auto coords = MatrixView::row_major(x.data(), n, 3);
  const IdView inducing{ind.data(), m, 1};
  const auto one = ResidualModel::from_inducing(coords, Kernel{}, inducing, 1);
  for (int threads : {0, 2, 3}) {
    const auto other = ResidualModel::from_inducing(coords, Kernel{}, inducing, threads);
    for (index_t i = 0; i < n; ++i) {
      ASSERT_EQ(other.space().p(i), one.space().p(i)) << "threads " << threads << ", point " << i;
      for (int r = 0; r < m; ++r) ASSERT_EQ(other.space().v_row(i)[r], one.space().v_row(i)[r]);
    }
  }
  for (index_t count : {1, 2, 3, 4, 5, 7, 9, 10, 13, 100, 257, 300}) {
    for (int threads : {0, 1, 2}) {
      const index_t first = 17;
      const auto e = one.embed(MatrixView::row_major(x.data() + 3 * first, count, 3), threads);
      for (index_t i = 0; i < count; ++i) {
        ASSERT_EQ(e.p(i), one.space().p(first + i)) << count << " points, threads " << threads << ", point " << i;
        for (int r = 0; r < m; ++r) ASSERT_EQ(e.v_row(i)[r], one.space().v_row(first + i)[r]);
      }
    }
  }
}

template <class Ex, class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an exception mentioning '" << needle << "'";
  } catch (const Ex& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ResidualModel, BadInputIsRejectedWithNamedErrors) {
  const index_t n = 20;
  auto x = test::normal_matrix(n, 2, 6);
  const auto ind = test::first_ids(n, 5);
  const MatrixView xv = MatrixView::row_major(x.data(), n, 2);
  const IdView iv{ind.data(), 5, 1};
  Kernel k;
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(MatrixView::row_major(x.data(), 0, 2), k, iv); }, "N = 0");
  x[7] = std::nan("");
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(xv, k, iv); }, "coords");
  x[7] = 0.5;
  k.variance = -1;
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(xv, k, iv); }, "variance");
  k.variance = 1;
  std::vector<index_t> bad = {1, 2, 25};
  expect_error<std::out_of_range>([&] { ResidualModel::from_inducing(xv, k, IdView{bad.data(), 3, 1}); }, "inducing id 25");
  bad = {1, 2, 2};
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(xv, k, IdView{bad.data(), 3, 1}); }, "more than once");
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(xv, k, IdView{bad.data(), 0, 1}); }, "at least one");
  std::vector<index_t> many(21, 0);
  expect_error<std::invalid_argument>([&] { ResidualModel::from_inducing(xv, k, IdView{many.data(), 21, 1}); },
                                      "inducing points but only");

  std::vector<double> v(n * 3, 0.1), p(n, 0.5);
  p[4] = 0;
  expect_error<std::invalid_argument>(
      [&] { ResidualModel::from_factors(xv, k, MatrixView::row_major(v.data(), n, 3), VectorView{p.data(), n, 1}); }, "p_diag");
  p[4] = 0.5;
  v[5] = INFINITY;
  expect_error<std::invalid_argument>(
      [&] { ResidualModel::from_factors(xv, k, MatrixView::row_major(v.data(), n, 3), VectorView{p.data(), n, 1}); }, "v_matrix");
  v[5] = 0.1;
  expect_error<std::invalid_argument>(
      [&] { ResidualModel::from_factors(xv, k, MatrixView::row_major(v.data(), n - 1, 3), VectorView{p.data(), n, 1}); }, "v_matrix has 19 rows");
  const auto fm = ResidualModel::from_factors(xv, k, MatrixView::row_major(v.data(), n, 3), VectorView{p.data(), n, 1});
  EXPECT_FALSE(fm.can_embed());
  expect_error<std::invalid_argument>([&] { fm.embed(xv); }, "inducing points");
}

}  // namespace
}  // namespace pcct
