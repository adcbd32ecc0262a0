#pragma once

namespace pcct {
/// Name of the SIMD level the kernels run at ("avx512", "avx2" or "scalar"); chosen once per
/// process from the CPU, or forced with the environment variable PCCT_SIMD.
const char* active_simd_level();
/// Threads pcct uses when none are requested (the OpenMP default).
int default_threads();
}  // namespace pcct
