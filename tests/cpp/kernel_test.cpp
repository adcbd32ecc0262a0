// Kernel values against closed forms; parameter validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "pcct/kernels/kernel.hpp"
#include "simd/dispatch.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

constexpr KernelType kAll[] = {KernelType::rbf, KernelType::matern12, KernelType::matern32, KernelType::matern52};

TEST(Kernel, ExpOfRbfMatchesStdExpToTwoUlp) {
  std::mt19937_64 g(1);
  std::uniform_real_distribution<double> u(-707.0, 0.0);
  std::vector<double> x = {0.0, -1e-300, -1e-17, -0.5, -1.0, -0.34657359, -0.34657360, -700.0, -707.9};
  for (int i = 0; i < 20000; ++i) x.push_back(u(g) * (i % 2 ? 1.0 : 1e-3));
  for (double xi : x) {
    const double r2 = -2.0 * xi;  // exact
    double got = 0;
    simd::scalar_table().kernel_values(KernelType::rbf, 1.0, &r2, 1, &got);
    const double want = std::exp(xi);
    EXPECT_LE(std::abs(got - want), 2 * std::numeric_limits<double>::epsilon() * want) << "x=" << xi;
  }
}

TEST(Kernel, ExpIsExactlyOneAtZeroAndFlushesBelowMinus708) {
  for (KernelType t : kAll) {
    const double zero = 0.0;
    double v = 0;
    simd::scalar_table().kernel_values(t, 2.5, &zero, 1, &v);
    EXPECT_EQ(v, 2.5);
  }
  const double r2 = 2 * 709.0;
  double v = 1;
  simd::scalar_table().kernel_values(KernelType::rbf, 1.0, &r2, 1, &v);
  EXPECT_EQ(v, 0.0);
}

TEST(Kernel, ValuesMatchClosedForms) {
  std::mt19937_64 g(2);
  std::uniform_real_distribution<double> u(0.0, 12.0);
  for (KernelType t : kAll) {
    for (int i = 0; i < 5000; ++i) {
      const double r = u(g) * (i % 3 == 0 ? 0.01 : 1.0);
      const double r2 = r * r;
      const double var = 0.3 + i % 7;
      double got = 0;
      simd::table().kernel_values(t, var, &r2, 1, &got);
      const long double want = test::kernel_ref(t, var, std::sqrt(static_cast<long double>(r2)));
      EXPECT_LE(std::abs(got - want), 8e-16L * var) << kernel_type_name(t) << " r=" << r;
    }
  }
}

TEST(Kernel, ValidateNamesTheBadParameter) {
  Kernel k;
  k.variance = 0;
  EXPECT_THROW(
      {
        try {
          k.validate(3);
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("variance"), std::string::npos);
          throw;
        }
      },
      std::invalid_argument);
  k.variance = std::nan("");
  EXPECT_THROW(k.validate(3), std::invalid_argument);
  k.variance = 1e151;  // the product of two residual variances would overflow
  EXPECT_THROW(k.validate(3), std::invalid_argument);
  k.variance = 1e150;
  EXPECT_NO_THROW(k.validate(3));
  k.variance = 1;
  k.lengthscale = {1.0, -2.0, 1.0};
  EXPECT_THROW(k.validate(3), std::invalid_argument);
  k.lengthscale = {1.0, 2.0};
  EXPECT_THROW(k.validate(3), std::invalid_argument);
  k.lengthscale = {std::numeric_limits<double>::infinity()};
  EXPECT_THROW(k.validate(3), std::invalid_argument);
  k.lengthscale = {0.5, 2.0, 1.0};
  EXPECT_NO_THROW(k.validate(3));
}

TEST(Kernel, ParseNames) {
  EXPECT_EQ(parse_kernel_type("rbf"), KernelType::rbf);
  EXPECT_EQ(parse_kernel_type("matern32"), KernelType::matern32);
  EXPECT_EQ(parse_kernel_type("matern5/2"), KernelType::matern52);
  EXPECT_THROW(parse_kernel_type("cosine"), std::invalid_argument);
}

}  // namespace
}  // namespace pcct
