#include "core/parallel.hpp"

#include <omp.h>

namespace pcct {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const int n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

}  // namespace pcct
