#pragma once
/// Stationary covariance kernels: k(x, y) = variance * f(r), r = ||(x - y) / lengthscale||.
/// The lengthscale is a scalar or one value per dimension (ARD).
#include <string>
#include <string_view>
#include <vector>

namespace pcct {

enum class KernelType { rbf, matern12, matern32, matern52 };

/// "rbf", "matern12", "matern32", "matern52" (also "matern1/2" etc.); throws on anything else.
KernelType parse_kernel_type(std::string_view name);
std::string_view kernel_type_name(KernelType type);

struct Kernel {
  /// Largest variance accepted: above it the product of two residual variances overflows.
  static constexpr double kMaxVariance = 1e150;
  KernelType type = KernelType::rbf;
  double variance = 1.0;
  std::vector<double> lengthscale{1.0};  ///< size 1 (isotropic) or dim (ARD)

  /// Throws std::invalid_argument naming the bad parameter (variance not in (0, 1e150],
  /// lengthscale not finite and > 0, or an ARD lengthscale whose length differs from `dim`).
  void validate(int dim) const;
  /// Lengthscale of dimension t (the scalar one if isotropic).
  double lengthscale_of(int t) const { return lengthscale.size() == 1 ? lengthscale[0] : lengthscale[t]; }
  /// Reference value from the scaled squared distance r2 = ||(x - y)/l||^2; bit-identical
  /// to the SIMD kernels (same operation sequence, explicit FMAs).
  double value_from_r2(double r2) const;
  /// The same kernel: type, variance and lengthscales all equal.
  bool operator==(const Kernel&) const = default;
};

}  // namespace pcct
