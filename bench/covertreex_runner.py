"""Runs covertreex on a workload saved by bench/peers.py (executed with .venv-ctx's Python).

    covertreex_runner.py DIR ENGINE K REPEATS -> prints JSON {build_s, query_s} (medians of REPEATS
                                                 builds and queries), writes DIR/ids_ENGINE.npy

The residual model is passed as factors (v_matrix, p_diag from pcct), so both libraries search
the same metric; with factors covertreex computes K as RBF(lengthscale 1, variance 1), which is
the gold kernel (so this runner is only valid for gold-kernel workloads).
"""
import json
import statistics
import sys
import time

import numpy as np


def main() -> None:
    d, engine, k, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    import covertreex
    coords = np.load(f"{d}/coords.npy")
    v = np.load(f"{d}/v.npy")
    p = np.load(f"{d}/p.npy")
    queries = np.load(f"{d}/queries.npy")
    # covertreex takes either a kernel or factors; with factors its K is RBF(1, 1) (gold's kernel).
    # Its python-numba engine only accepts integer point ids as points (and as queries), and then
    # computes K from those ids: another metric (peers.py labels that row so).
    points = coords if engine != "python-numba" else np.arange(len(coords), dtype=np.int64).reshape(-1, 1)
    qs = queries if engine != "python-numba" else queries.reshape(-1, 1)
    builds, runs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tree = covertreex.cover_tree(points, v_matrix=v, p_diag=p, engine=engine)
        builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ids = tree.knn(k, queries=qs)
        runs.append(time.perf_counter() - t0)
    ids = np.asarray(ids[0] if isinstance(ids, tuple) else ids, dtype=np.int64).reshape(len(queries), -1)
    np.save(f"{d}/ids_{engine}.npy", ids)
    print(json.dumps({"build_s": statistics.median(builds), "query_s": statistics.median(runs)}))


if __name__ == "__main__":
    main()
