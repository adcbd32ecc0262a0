#include "core/parallel.hpp"
#include "pcct/core/simd_level.hpp"

#include <omp.h>

#include "pcct/core/errors.hpp"

namespace pcct {

int resolve_threads(int requested) {
  require_thread_count(requested);
  if (requested > 0) return requested;
  // OpenMP's default (OMP_NUM_THREADS, or the cores) is capped at the limit rather than
  // refused: the user never asked for it.
  const int n = omp_get_max_threads();
  return n > kMaxThreads ? kMaxThreads : n > 0 ? n : 1;
}

int default_threads() { return resolve_threads(0); }

}  // namespace pcct
