#pragma once
/// Per-ISA kernel table. Hot loops call through a table chosen once per process
/// (best level the CPU supports, or PCCT_SIMD=scalar|avx2|avx512). Every level produces
/// bit-identical results: per-pair arithmetic is the same sequence of IEEE operations with
/// explicit FMAs, and dot products use one canonical 8-lane order (see kernels_impl.hpp).
#include <cstdint>

#include "pcct/kernels/kernel.hpp"

namespace pcct::simd {

enum class Level { scalar = 0, avx2 = 1, avx512 = 2 };

/// One query against n points. Point data is structure-of-arrays: coordinate t of point j
/// is xp[t * ldx + j].
struct RowArgs {
  int n = 0;
  int dim = 0;
  const double* xq = nullptr;  ///< [dim] query coordinates (already divided by the lengthscale)
  const double* xp = nullptr;  ///< [dim * ldx] point coordinates (same scaling)
  std::int64_t ldx = 0;
  // Residual-correlation only.
  double pq = 1;                       ///< residual variance of the query
  const double* pp = nullptr;          ///< [n] residual variances of the points
  std::int64_t qid = -1;               ///< dataset id of the query, -1 for a new point
  const std::int64_t* pid = nullptr;   ///< [n] dataset ids of the points
  const double* dots = nullptr;        ///< [n] V_q . V_j
  double variance = 1;
  // Outputs.
  double* out = nullptr;         ///< [n] distance (or kernel value for kernel_row)
  double* out_absrho = nullptr;  ///< [n] |rho| clamped to [0, 1] (residual only; may be null)
};

/// n independent pairs (any rows and columns): per-pair arrays, coordinates structure-of-arrays
/// with leading dimension ld (coordinate t of pair j at x[t * ld + j]).
struct PairArgs {
  int n = 0;
  int dim = 0;
  std::int64_t ld = 0;
  const double* xq = nullptr;
  const double* xp = nullptr;
  const double* pq = nullptr;
  const double* pp = nullptr;
  const double* dots = nullptr;
  double variance = 1;
  double* out = nullptr;
  double* out_absrho = nullptr;
};

/// The children of one tree node against one visiting query (tree/prune_bounds.hpp, Visit):
/// child j may hold a point within the query's threshold unless
/// max(visit_lo - hi[j], lo[j] - visit_hi) - reach[j] > thr, or min_id[j] >= id_limit.
struct ChildArgs {
  int n = 0;
  const double* lo = nullptr;
  const double* hi = nullptr;
  const double* reach = nullptr;
  const std::int64_t* min_id = nullptr;
  double visit_lo = 0, visit_hi = 0, thr = 0;
  std::int64_t id_limit = INT64_MAX;  ///< predecessor mode: the query's id
};

struct Table {
  Level level;
  const char* name;
  /// out[i * ldo + j] = a[i] . b[j] over len doubles (len a multiple of 8, rows 64-byte aligned).
  void (*dot_tile)(const double* const* a, int na, const double* const* b, int nb, int len,
                   double* out, std::int64_t ldo);
  /// Residual-correlation distances d = sqrt(1 - |rho|) of one query row.
  void (*residual_row)(KernelType, const RowArgs&);
  /// Euclidean distances of one query row.
  void (*euclidean_row)(const RowArgs&);
  /// Residual-correlation distances of n independent pairs (thin tiles; no self-distance rule).
  void (*residual_pairs)(KernelType, const PairArgs&);
  /// Euclidean distances of n independent pairs.
  void (*euclidean_pairs)(const PairArgs&);
  /// Kernel values k(xq, xp_j) of one query row (into out).
  void (*kernel_row)(KernelType, const RowArgs&);
  /// out[i] = variance * f(r2[i]).
  void (*kernel_values)(KernelType, double variance, const double* r2, int n, double* out);
  /// Sets bit j of mask (words [0, (n + 63) / 64), zeroed by the caller) for every child j
  /// that cannot be excluded; returns how many. Pure comparisons: identical at every level.
  int (*child_mask)(const ChildArgs&, std::uint64_t* mask);
};

/// The table used by pcct (chosen once).
const Table& table();
/// The portable reference table.
const Table& scalar_table();
/// The table of a level, or nullptr if this CPU (or build) does not support it.
const Table* table_for(Level level);
const char* level_name(Level level);

// Per-ISA tables, defined in tables_<isa>.cpp.
const Table& table_scalar();
const Table& table_avx2();
const Table& table_avx512();

}  // namespace pcct::simd
