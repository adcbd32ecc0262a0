#pragma once
// The two LAPACK/BLAS routines pcct needs (Fortran ABI, LP64 integers, provided by OpenBLAS).
#include <cstddef>

#include <omp.h>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
            const int* n, const double* alpha, const double* a, const int* lda, double* b, const int* ldb,
            std::size_t, std::size_t, std::size_t, std::size_t);
}

namespace pcct::detail {

/// Held around every LAPACK/BLAS call. OpenBLAS's OpenMP build splits a call made outside a
/// parallel region over omp_get_max_threads() threads, and the split changes the order of its
/// sums: V would then depend on the thread count, and a point's V row on how many points were
/// embedded with it (the metric turns those last-bit differences into ~1e-5 in distances).
/// pcct parallelises over fixed blocks of points itself, so each call runs on one thread.
/// Only the calling thread's OpenMP setting changes, and it is restored.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadedBlas() { omp_set_num_threads(saved_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_;
};

}  // namespace pcct::detail
