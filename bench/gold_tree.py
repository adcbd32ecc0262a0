"""Gold workload: the cover tree's engines vs the brute force, side by side in one run
(medians of --repeats).

    .venv/bin/python bench/gold_tree.py [--repeats 3] [--threads 2] [--no-predecessor]

Reports build time (V and index), queries/s, distance evaluations per query, recall against
the brute force, for 1,024 queries and for predecessor mode over all points, for the tree
walk (algorithm="tree"), the level scan ("scan") and "auto". Run it with --threads 1 and 2
for the thread scaling.
"""
from __future__ import annotations

import argparse

import numpy as np

import pcct
from pcct.gold import gold_workload
from pcct.recall import recall

from common import git_revision, machine, median_time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-predecessor", action="store_true")
    args = ap.parse_args()
    w = gold_workload()
    t_v, all_v, model = median_time(
        lambda: pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing, n_threads=args.threads), args.repeats)
    t_tree, all_tree, tree = median_time(
        lambda: pcct.cover_tree(model, algorithm="tree", n_threads=args.threads), args.repeats)
    brute = pcct.cover_tree(model, algorithm="brute", n_threads=args.threads)
    # One index per engine (the algorithm is fixed per index); the build is timed on the walk's.
    engines = [("tree walk", tree), ("level scan", pcct.cover_tree(model, algorithm="scan", n_threads=args.threads)),
               ("auto", pcct.cover_tree(model, n_threads=args.threads))]
    info = tree.build_info
    print(f"machine: {machine()}; pcct {git_revision()}, SIMD {pcct.simd_level()}, threads {args.threads or 'default'}")
    print(f"gold: N={len(w.coords)}, k={w.k}; medians of {args.repeats} runs\n")
    print(f"build: V {t_v:.3f} s (runs {[round(t, 3) for t in all_v]}), tree {t_tree:.3f} s "
          f"(runs {[round(t, 3) for t in all_tree]}), total {t_v + t_tree:.3f} s; "
          f"{info['distance_evaluations'] / len(w.coords):,.0f} distance evaluations per point, "
          f"{info['rounds']} rounds, height {info['height']}\n")
    rows = []
    workloads = [("1,024 query ids", w.queries, False)]
    if not args.no_predecessor:
        workloads.append(("predecessor, all 32,768 points", None, True))
    for label, queries, pred in workloads:
        nq = len(w.coords) if queries is None else len(queries)
        t_b, _, (ib, db) = median_time(lambda: brute.knn(w.k, queries, predecessor_mode=pred), args.repeats)
        rows.append((label, "brute force", t_b, nq / t_b, brute.last_stats["distance_evaluations_per_query"], 1.0, True))
        for name, index in engines:
            t_t, _, (it, dt) = median_time(lambda: index.knn(w.k, queries, predecessor_mode=pred), args.repeats)
            stats = index.last_stats
            same = np.array_equal(it, ib) and np.array_equal(dt, db)
            if name == "auto":
                name += (f" ({stats['brute_force_queries']:,} by the brute force, "
                         f"{stats['scan_queries']:,} by the scan)")
            rows.append((label, name, t_t, nq / t_t, stats["distance_evaluations_per_query"], recall(it, dt, ib, db),
                         same))
            if name in ("tree walk", "level scan"):
                levels = ", ".join(f"{l}: {c / nq:,.0f}" for l, c in sorted(stats["evaluations_by_level"].items(),
                                                                             reverse=True) if c / nq >= 0.5)
                print(f"{label}, {name}: evaluations per query by level: {levels}")
    print("\n| queries | engine | time (s) | queries/s | distance evals/query | recall | bit-identical |")
    print("|---|---|---|---|---|---|---|")
    for label, engine, t, qps, ev, rec, same in rows:
        print(f"| {label} | {engine} | {t:.3f} | {qps:,.0f} | {ev:,.0f} | {rec:.3f} | {'yes' if same else 'NO'} |")
    print("\ntree levels (level: nodes, mean / max subtree radius):")
    for lv in info["levels"]:
        print(f"  {lv['level']:>3}: {lv['nodes']:>6}  {lv['mean_radius']:.3f} / {lv['max_radius']:.3f}")


if __name__ == "__main__":
    main()
