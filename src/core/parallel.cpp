#include "core/parallel.hpp"
#include "pcct/core/simd_level.hpp"

#include <omp.h>

#include "pcct/core/errors.hpp"

namespace pcct {

int resolve_threads(int requested) {
  PCCT_REQUIRE(requested <= kMaxThreads, "n_threads must be at most ", kMaxThreads, ", got ", requested);
  if (requested > 0) return requested;
  const int n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

int default_threads() { return resolve_threads(0); }

}  // namespace pcct
