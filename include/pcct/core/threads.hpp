#pragma once
/// Limits of the n_threads parameters (KnnParams, CoverTreeParams, model construction).
#include "pcct/core/errors.hpp"

namespace pcct {

/// More threads than this is a mistake, not a request: each thread gets its own scratch
/// buffers (and OpenMP its own stack), so 10^5 threads would need gigabytes before any work.
constexpr int kMaxThreads = 1024;

/// Throws unless n_threads is 0 (the OpenMP default) or 1 to kMaxThreads.
inline void require_thread_count(int n_threads) {
  PCCT_REQUIRE(n_threads >= 0 && n_threads <= kMaxThreads, "n_threads must be 0 (the default) to ", kMaxThreads,
               ", got ", n_threads);
}

}  // namespace pcct
