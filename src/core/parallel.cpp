#include "core/parallel.hpp"
#include "pcct/core/simd_level.hpp"

#include <omp.h>

namespace pcct {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const int n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

int default_threads() { return resolve_threads(0); }

}  // namespace pcct
