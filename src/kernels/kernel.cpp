#include "pcct/kernels/kernel.hpp"

#include <cmath>

#include "pcct/core/errors.hpp"
#include "simd/dispatch.hpp"

namespace pcct {

KernelType parse_kernel_type(std::string_view name) {
  if (name == "rbf" || name == "RBF" || name == "se" || name == "gaussian") return KernelType::rbf;
  if (name == "matern12" || name == "matern1/2" || name == "Matern12" || name == "exponential")
    return KernelType::matern12;
  if (name == "matern32" || name == "matern3/2" || name == "Matern32") return KernelType::matern32;
  if (name == "matern52" || name == "matern5/2" || name == "Matern52") return KernelType::matern52;
  PCCT_REQUIRE(false, "kernel: unknown kernel '", name,
               "' (expected rbf, matern12, matern32 or matern52)");
  return KernelType::rbf;
}

std::string_view kernel_type_name(KernelType type) {
  switch (type) {
    case KernelType::rbf: return "rbf";
    case KernelType::matern12: return "matern12";
    case KernelType::matern32: return "matern32";
    case KernelType::matern52: return "matern52";
  }
  return "?";
}

void Kernel::validate(int dim) const {
  PCCT_REQUIRE(type == KernelType::rbf || type == KernelType::matern12 || type == KernelType::matern32 ||
                   type == KernelType::matern52,
               "kernel type ", static_cast<int>(type), " is not one of rbf, matern12, matern32, matern52");
  PCCT_REQUIRE(std::isfinite(variance) && variance > 0 && variance <= kMaxVariance,
               "kernel variance must be > 0 and at most ", kMaxVariance, ", got ", variance);
  PCCT_REQUIRE(!lengthscale.empty(), "kernel lengthscale must not be empty");
  PCCT_REQUIRE(lengthscale.size() == 1 || static_cast<int>(lengthscale.size()) == dim,
               "kernel lengthscale has ", lengthscale.size(), " values but the coordinates have ", dim,
               " dimensions (give one value, or one per dimension)");
  for (double l : lengthscale)
    PCCT_REQUIRE(std::isfinite(l) && l > 0, "kernel lengthscale must be finite and > 0, got ", l);
}

double Kernel::value_from_r2(double r2) const {
  double out = 0;
  simd::scalar_table().kernel_values(type, variance, &r2, 1, &out);
  return out;
}

}  // namespace pcct
