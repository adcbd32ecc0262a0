"""Gold workload, exact brute force: pcct's C++ brute force vs a NumPy + BLAS brute force,
measured side by side in one run (median of --repeats). Prints a Markdown table.

    .venv/bin/python bench/gold_bruteforce.py [--repeats 5] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import pcct
from pcct.gold import gold_workload
from pcct.recall import recall

from common import git_revision, machine, median_time, numpy_residual_knn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None,
                    help="pcct's threads (NumPy's OpenBLAS keeps its own: set OPENBLAS_NUM_THREADS to match)")
    args = ap.parse_args()
    w = gold_workload()
    t0 = time.perf_counter()
    model = pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing, n_threads=args.threads)
    t_model = time.perf_counter() - t0
    v, p = model.v_matrix, model.p_diag

    t_pcct, all_pcct, (ids, dist) = median_time(
        lambda: pcct.brute_force_knn(model, w.k, queries=w.queries, n_threads=args.threads), args.repeats)
    t_np, all_np, (ids_np, dist_np) = median_time(
        lambda: numpy_residual_knn(w.coords, v, p, w.kernel, w.queries, w.k), args.repeats)
    agree = recall(ids_np, dist_np, ids, dist)
    nq = len(w.queries)
    print(f"machine: {machine()}; pcct {git_revision()}, SIMD {pcct.simd_level()}")
    print(f"gold: N={len(w.coords)}, {nq} queries, k={w.k}; V build {t_model:.3f} s; medians of {args.repeats}\n")
    print("| exact brute force | time (s) | queries/s | ratio |")
    print("|---|---|---|---|")
    print(f"| pcct (C++, blocked SIMD dot tiles) | {t_pcct:.3f} | {nq / t_pcct:,.0f} | {t_np / t_pcct:.2f}x |")
    print(f"| NumPy + OpenBLAS GEMM | {t_np:.3f} | {nq / t_np:,.0f} | 1.00x |")
    print(f"\nall runs: pcct {[round(t, 3) for t in all_pcct]}, numpy {[round(t, 3) for t in all_np]}")
    print(f"NumPy answer vs pcct answer: recall {agree:.4f} (differences are float64 near-ties only)")


if __name__ == "__main__":
    main()
