#pragma once
/// Limits of the n_threads parameters (KnnParams, CoverTreeParams, model construction).

namespace pcct {

/// More threads than this is a mistake, not a request: each thread gets its own scratch
/// buffers (and OpenMP its own stack), so 10^5 threads would need gigabytes before any work.
constexpr int kMaxThreads = 1024;

}  // namespace pcct
