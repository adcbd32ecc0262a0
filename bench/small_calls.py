"""Loops of small calls (fewer than 128 queries, which `auto` cannot sample within the call):
every engine side by side in one run (medians of --repeats).

    .venv/bin/python bench/small_calls.py [--repeats 3] [--batch 100] [--only NAME] [--points N]

Two loops per workload, both how GP code calls a k-NN index batch by batch:
- predecessor: every point's Vecchia conditioning set, ids 0..N-1 in calls of --batch;
- ids: 4,096 point ids (0..4,095) in calls of 64, without predecessor mode.
--points shrinks every workload to N points (the CI smoke test). Each repeat of `auto` runs on
a freshly built index (not timed), so it starts with no choice remembered from an earlier
call. Every engine must return the brute force's answer, ids and distances bit for bit.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import pcct
from pcct.gold import gold_workload

from common import git_revision, machine

ENGINES = ("auto", "tree", "scan", "brute")


def workloads(points=None):
    """(name, model, k): gold, and 2-D / 8-D data where the engines' costs differ most."""
    w = gold_workload(points or 32_768)
    yield (f"gold ({len(w.coords):,} points, k = 50)",
           pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing), w.k)
    n = points or 20_000
    rng = np.random.default_rng(7)
    u = rng.uniform(size=(n, 2))
    yield ("2-D uniform, RBF lengthscale 0.3, 200 inducing (k = 20)",
           pcct.ResidualModel(u, pcct.kernels.RBF(0.3), inducing_count=200, seed=0), 20)
    yield ("2-D uniform, Matern 3/2 lengthscale 0.1, 200 inducing (k = 20)",
           pcct.ResidualModel(u, pcct.kernels.Matern32(0.1), inducing_count=200, seed=0), 20)
    g = rng.normal(size=(n, 8))
    yield ("8-D normal, RBF lengthscale 2, 256 inducing (k = 20)",
           pcct.ResidualModel(g, pcct.kernels.RBF(2.0), inducing_count=256, seed=0), 20)


def run_loop(index, k, calls, predecessor):
    t0 = time.perf_counter()
    answers = [index.knn(k, q, predecessor_mode=predecessor) for q in calls]
    return time.perf_counter() - t0, [np.concatenate(part) for part in zip(*answers)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--only", default=None, help="run the workloads whose name starts with this")
    ap.add_argument("--points", type=int, default=None, help="points per workload (default: full size)")
    args = ap.parse_args()
    print(f"machine: {machine()}; pcct {git_revision()}, SIMD {pcct.simd_level()}; medians of {args.repeats}\n")
    print("| workload | loop | " + " | ".join(ENGINES) + " | auto vs best |")
    print("|---|---|" + "---|" * (len(ENGINES) + 1))
    for name, model, k in workloads(args.points):
        if args.only and not name.startswith(args.only):
            continue
        n = model.n_points
        loops = [(f"predecessor, all ids in calls of {args.batch}",
                  [np.arange(s, min(s + args.batch, n)) for s in range(0, n, args.batch)], True),
                 (f"{min(n, 4096):,} ids in calls of 64",
                  [np.arange(s, min(s + 64, n)) for s in range(0, min(n, 4096), 64)], False)]
        fixed = {e: pcct.cover_tree(model, algorithm=e) for e in ENGINES[1:]}
        for label, calls, pred in loops:
            times = {}
            _, ref = run_loop(fixed["brute"], k, calls, pred)  # the reference answer (a warm-up too)
            for e in ENGINES:
                runs = []
                for _ in range(args.repeats):
                    index = pcct.cover_tree(model) if e == "auto" else fixed[e]
                    t, (ids, dist) = run_loop(index, k, calls, pred)
                    runs.append(t)
                    if not (np.array_equal(ids, ref[0]) and np.array_equal(dist, ref[1])):
                        raise SystemExit(f"{name}, {label}: {e} differs from the brute force")
                times[e] = float(np.median(runs))
            best = min(times[e] for e in ENGINES[1:])
            print(f"| {name} | {label} | " + " | ".join(f"{times[e]:.3f} s" for e in ENGINES)
                  + f" | {times['auto'] / best:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
