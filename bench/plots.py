"""q/s and build time against N (4k ... 256k) for pcct, the brute forces and the peers; PNGs.

    .venv/bin/python bench/plots.py [--max-n 262144] [--out docs/plots]

Residual: gold-like workloads (gold generators at each N, 1,024 query ids, k = 50), pcct cover
tree (auto, tree walk, level scan), pcct brute force, NumPy + BLAS brute force. Euclidean D = 3: pcct (auto = kd-tree), scipy
cKDTree, scikit-learn KDTree, faiss IndexFlatL2, pcct brute force (1,024 queries, k = 8).
Each point is the median of --repeats runs.
"""
from __future__ import annotations

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import pcct  # noqa: E402
from pcct.gold import gold_workload  # noqa: E402

from common import faiss_flat, machine, median_time, numpy_residual_knn, optional  # noqa: E402


def residual_series(sizes, repeats):
    rows = []
    for n in sizes:
        w = gold_workload(n=n, n_queries=1024)
        t_v, _, model = median_time(lambda: pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing), repeats)
        t_b_build, _, tree = median_time(lambda: pcct.cover_tree(model, algorithm="tree"), repeats)
        t_tree, _, _ = median_time(lambda: tree.knn(50, w.queries), repeats)
        tree_evals = tree.last_stats["distance_evaluations_per_query"]
        # The scan and auto use the same kind of index (tree and clusters); built once more each.
        scan = pcct.cover_tree(model, algorithm="scan")
        t_scan, _, _ = median_time(lambda: scan.knn(50, w.queries), repeats)
        auto = pcct.cover_tree(model)
        t_auto, _, _ = median_time(lambda: auto.knn(50, w.queries), repeats)
        brute = pcct.cover_tree(model, algorithm="brute")
        t_brute, _, _ = median_time(lambda: brute.knn(50, w.queries), repeats)
        v, p = model.v_matrix, model.p_diag
        t_np, _, _ = median_time(lambda: numpy_residual_knn(w.coords, v, p, w.kernel, w.queries, 50), repeats)
        rows.append({"n": n, "build_v": t_v, "build_tree": t_b_build, "tree_qps": 1024 / t_tree,
                     "scan_qps": 1024 / t_scan, "auto_qps": 1024 / t_auto,
                     "brute_qps": 1024 / t_brute, "numpy_qps": 1024 / t_np, "tree_evals": tree_evals,
                     "scan_evals": scan.last_stats["distance_evaluations_per_query"],
                     "auto_scan_queries": auto.last_stats["scan_queries"]})
        print(rows[-1], flush=True)
        del model, tree, scan, auto, brute, v, p
    return rows


def euclidean_series(sizes, repeats, missing):
    """pcct and the peers that import (the others go to `missing`, with the reason)."""
    ckd, why = optional("scipy.spatial")
    if why:
        missing["scipy cKDTree"] = why
    skl, why = optional("sklearn.neighbors")
    if why:
        missing["scikit-learn KDTree"] = why
    faiss, why = optional("faiss")
    if why:
        missing["faiss IndexFlatL2"] = why
    rows = []
    for n in sizes:
        x = np.random.default_rng(3).normal(size=(n, 3))
        qi = np.random.default_rng(4).integers(0, n, 1024)
        q = x[qi]
        row = {"n": n}
        engines = [("pcct", lambda: pcct.cover_tree(x), lambda t: t.knn(8, qi)),
                   ("pcct_brute", lambda: pcct.cover_tree(x, algorithm="brute"), lambda t: t.knn(8, qi))]
        if ckd:
            engines.append(("ckdtree", lambda: ckd.cKDTree(x), lambda t: t.query(q, k=8, workers=-1)))
        if skl:
            engines.append(("sklearn_kdtree", lambda: skl.KDTree(x), lambda t: t.query(q, k=8)))
        if faiss:
            engines.append(("faiss_flat", lambda: faiss_flat(faiss, x),
                            lambda t: t.search(np.ascontiguousarray(q, np.float32), 8)))
        for name, build, query in engines:
            tb, _, index = median_time(build, repeats)
            tq, _, _ = median_time(lambda: query(index), repeats)
            row[f"{name}_build"] = tb
            row[f"{name}_qps"] = 1024 / tq
        rows.append(row)
        print(row, flush=True)
    return rows


def plot(rows, series, ylabel, title, path):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ns = [r["n"] for r in rows]
    for key, label in series:
        if key in rows[0]:  # a missing peer has no series (main() prints why)
            ax.plot(ns, [r[key] for r in rows], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("N (points)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=262144)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="docs/plots")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sizes = [n for n in (4096, 8192, 16384, 32768, 65536, 131072, 262144) if n <= args.max_n]
    host = machine()
    print(f"machine: {host}", flush=True)
    res = residual_series(sizes, args.repeats)
    for r in res:
        r["build_total"] = r["build_v"] + r["build_tree"]
    missing: dict = {}
    eu = euclidean_series(sizes, args.repeats, missing)
    for peer, why in missing.items():
        print(f"missing peer (not plotted): {peer}: {why}", flush=True)
    with open(os.path.join(args.out, "series.json"), "w") as fh:
        json.dump({"machine": host, "residual": res, "euclidean_d3": eu, "missing_peers": missing}, fh, indent=1)
    plot(res, [("auto_qps", "pcct auto"), ("tree_qps", "pcct cover tree, tree walk"),
               ("scan_qps", "pcct cover tree, level scan"), ("brute_qps", "pcct brute force"),
               ("numpy_qps", "NumPy + BLAS brute force")], "queries / s (1,024 queries, k = 50)",
         "Residual correlation (gold generators): query throughput", os.path.join(args.out, "residual_qps.png"))
    plot(res, [("build_total", "pcct: V + cover tree"), ("build_v", "pcct: V only")], "build time (s)",
         "Residual correlation (gold generators): build time", os.path.join(args.out, "residual_build.png"))
    plot(eu, [("pcct_qps", "pcct (auto: kd-tree)"), ("pcct_brute_qps", "pcct brute force"),
              ("ckdtree_qps", "scipy cKDTree"), ("sklearn_kdtree_qps", "scikit-learn KDTree"),
              ("faiss_flat_qps", "faiss IndexFlatL2")], "queries / s (1,024 queries, k = 8)",
         "Euclidean, D = 3: query throughput", os.path.join(args.out, "euclidean_d3_qps.png"))
    plot(eu, [("pcct_build", "pcct kd-tree"), ("ckdtree_build", "scipy cKDTree"),
              ("sklearn_kdtree_build", "scikit-learn KDTree"), ("faiss_flat_build", "faiss IndexFlatL2")],
         "build time (s)", "Euclidean, D = 3: build time", os.path.join(args.out, "euclidean_d3_build.png"))
    print(f"wrote plots to {args.out}")


if __name__ == "__main__":
    main()
