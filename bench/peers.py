"""pcct against every peer, measured side by side in one run (medians of --repeats).

    .venv/bin/python bench/peers.py [--scale full|small] [--repeats 3] [--json out.json]

Workloads (issue 4):
  residual  gold (N = 32,768, 1,024 query ids, k = 50): pcct (auto, level scan, tree walk, brute
            force), NumPy + BLAS brute force, covertreex (if installable); recall against pcct's
            brute force.
  pred      gold in predecessor mode, all points as queries: pcct auto / level scan / tree walk /
            brute force.
  gpboost   20,000 points uniform in [0,1]^2, Matern 3/2 with range 0.1, 200 inducing points, k = 20,
            predecessor mode: GPBoost's full-scale Vecchia set-up against pcct (V + neighbours).
  euclid    N = 32,768 ~ N(0, I_D), D = 3, 8, 32, k = 8, 1,024 queries: pcct (auto, kd-tree, cover
            tree, brute force), scipy cKDTree, scikit-learn KDTree / BallTree, faiss IndexFlatL2.
A peer that cannot be imported is reported as missing, with the reason, never skipped silently.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import pcct
from pcct.gold import gold_workload
from pcct.recall import recall

from common import faiss_flat, git_revision, machine, median_time, numpy_residual_knn, optional

SCALES = {
    "full": {"n": 32768, "queries": 1024, "k": 50, "pred_n": 32768, "gp_n": 20000, "gp_m": 200,
             "eu_n": 32768, "eu_dims": (3, 8, 32)},
    "small": {"n": 2048, "queries": 128, "k": 10, "pred_n": 2048, "gp_n": 1500, "gp_m": 30,
              "eu_n": 2048, "eu_dims": (3, 8)},
}


class Table:
    def __init__(self, title: str, columns: list[str]):
        self.title, self.columns, self.rows = title, columns, []

    def add(self, *values):
        self.rows.append(list(values))

    def markdown(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
               "|" + "---|" * len(self.columns)]
        for r in self.rows:
            out.append("| " + " | ".join(fmt(v) for v in r) + " |")
        return "\n".join(out)


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if v >= 100 else f"{v:.3f}"
    return str(v)


def residual(sc, repeats, results):
    w = gold_workload(n=sc["n"], n_queries=sc["queries"], k=sc["k"])
    k, nq = w.k, len(w.queries)
    t_v, _, model = median_time(lambda: pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing), repeats)
    brute = pcct.cover_tree(model, algorithm="brute")
    t_b, _, (ib, db) = median_time(lambda: brute.knn(k, w.queries), repeats)
    v, p = model.v_matrix, model.p_diag
    t_n, _, (i_n, d_n) = median_time(lambda: numpy_residual_knn(w.coords, v, p, w.kernel, w.queries, k), repeats)
    tab = Table(f"Residual correlation, gold (N = {len(w.coords):,}, {nq:,} query ids, k = {k})",
                ["engine", "build incl. V (s)", "query (s)", "queries/s", "distance evals/query", "recall",
                 "vs NumPy brute"])
    # One index build per engine (its time is the median of `repeats` builds).
    for name, algo in (("pcct auto", "auto"), ("pcct cover tree, level scan", "scan"),
                       ("pcct cover tree, tree walk", "tree")):
        t_tb, _, tree = median_time(lambda: pcct.cover_tree(model, algorithm=algo), repeats)
        t_t, _, (it, dt) = median_time(lambda: tree.knn(k, w.queries), repeats)
        if algo == "auto":
            name += f" ({tree.last_stats['scan_queries']:,} queries by the scan)"
        tab.add(name, t_v + t_tb, t_t, nq / t_t, tree.last_stats["distance_evaluations_per_query"],
                recall(it, dt, ib, db), f"{t_n / t_t:.1f}x")
    tab.add("pcct brute force", t_v, t_b, nq / t_b, float(len(w.coords)), 1.0, f"{t_n / t_b:.1f}x")
    tab.add("NumPy + OpenBLAS brute force", t_v, t_n, nq / t_n, float(len(w.coords)), recall(i_n, d_n, ib, db), "1.0x")
    for engine, row in covertreex_rows(w, v, p, k, ib, db, t_v, repeats):
        comparable = isinstance(row[1], float) and engine != "python-numba"
        label = ("covertreex (python-numba; takes ids as points, so its K is not gold's: another metric)"
                 if engine == "python-numba" else f"covertreex ({engine})")
        tab.add(label, *row[:-1], f"{t_n / row[1]:.1f}x" if comparable else (row[-1] or "-"))
    results["residual"] = tab.rows
    return tab


CTX_PYTHON = Path(__file__).resolve().parents[1] / ".venv-ctx" / "bin" / "python"


def covertreex_rows(w, v, p, k, ib, db, t_v, repeats):
    """covertreex runs under Python >= 3.12 (its only wheels) in .venv-ctx, on pcct's own V and p
    so both search the same metric (except python-numba, see covertreex_runner.py); medians of
    `repeats` builds and queries, as for every other row. A failure, a timeout or a crash
    without output is a row saying so."""
    if not CTX_PYTHON.exists():
        return [("python-numba, rust-hilbert", ["missing", "-", "-", "-", "-",
                 "not installed: needs Python >= 3.12 (scripts/setup_covertreex.sh creates .venv-ctx)"])]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/coords.npy", w.coords)
        np.save(f"{d}/v.npy", v)
        np.save(f"{d}/p.npy", p)
        np.save(f"{d}/queries.npy", w.queries)
        for engine in ("rust-hilbert", "python-numba"):
            try:
                r = subprocess.run([str(CTX_PYTHON), str(Path(__file__).with_name("covertreex_runner.py")), d,
                                    engine, str(k), str(repeats)], capture_output=True, text=True, timeout=3600)
            except subprocess.TimeoutExpired:
                rows.append((engine, ["failed", "-", "-", "-", "-", "timed out after 3,600 s"]))
                continue
            if r.returncode != 0 or not r.stdout.strip():
                last = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}, no output"])[-1]
                rows.append((engine, ["failed", "-", "-", "-", "-", last[:160]]))
                continue
            t = json.loads(r.stdout.strip().splitlines()[-1])
            ic = np.load(f"{d}/ids_{engine}.npy")[:, :k]
            # Recall by id only (covertreex's distances are not compared): ids in the exact answer.
            hits = np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(ic, ib)])
            rows.append((engine, [t_v + t["build_s"], t["query_s"], len(w.queries) / t["query_s"], "-", float(hits), ""]))
    return rows


def predecessor(sc, repeats, results):
    w = gold_workload(n=sc["pred_n"], n_queries=None, k=sc["k"])
    model = pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing)
    tab = Table(f"Residual correlation, predecessor mode, all {len(w.coords):,} points as queries (k = {w.k})",
                ["engine", "query (s)", "queries/s", "distance evals/query", "recall", "identical to brute force"])
    brute = pcct.cover_tree(model, algorithm="brute")
    t_b, _, (ib, db) = median_time(lambda: brute.knn(w.k, predecessor_mode=True), repeats)
    for name, algo in (("pcct auto", "auto"), ("pcct cover tree, level scan", "scan"),
                       ("pcct cover tree, tree walk", "tree")):
        index = pcct.cover_tree(model, algorithm=algo)
        t, _, (i, d) = median_time(lambda: index.knn(w.k, predecessor_mode=True), repeats)
        if algo == "auto":  # auto splits the call: early ids to the brute force, the rest to a tree engine
            name += (f" ({index.last_stats['brute_force_queries']:,} queries by the brute force, "
                     f"{index.last_stats['scan_queries']:,} by the scan)")
        tab.add(name, t, len(w.coords) / t, index.last_stats["distance_evaluations_per_query"], recall(i, d, ib, db),
                "yes" if np.array_equal(i, ib) and np.array_equal(d, db) else "NO")
    tab.add("pcct brute force", t_b, len(w.coords) / t_b, brute.last_stats["distance_evaluations_per_query"], 1.0,
            "-")
    results["predecessor"] = tab.rows
    return tab


def gpboost_peer(sc, repeats, results):
    n, m, k = sc["gp_n"], sc["gp_m"], 20
    x = np.random.default_rng(7).uniform(0, 1, (n, 2))
    # Matern 3/2 with range 0.1: r = |x - y| / 0.1 in pcct's parameterisation.
    kernel = pcct.kernels.Matern32(lengthscale=0.1, variance=1.0)
    inducing = pcct.choose_inducing(n, m, seed=8)
    tab = Table(f"GPBoost comparison: {n:,} points in [0,1]^2, Matern 3/2 range 0.1, {m} inducing points, "
                f"k = {k}, predecessor mode", ["engine", "time (s)", "what is timed"])

    def pcct_vif():
        model = pcct.ResidualModel(x, kernel, inducing=inducing)
        return pcct.cover_tree(model).knn(k, predecessor_mode=True)

    t_p, _, _ = median_time(pcct_vif, repeats)
    tab.add("pcct", t_p, "V + residual-correlation predecessor neighbours (exact)")
    gpb, why = optional("gpboost")
    if gpb is None:
        tab.add("GPBoost", "missing", f"not installable: {why}")
    else:
        from gpboost_setup import time_vif_setup
        for label, approx in (("GPBoost (residual-correlation neighbours)", "full_scale_vecchia_correlation_based"),
                              ("GPBoost (Euclidean neighbours, for reference)", "full_scale_vecchia")):
            try:
                t_g, what = time_vif_setup(gpb, x, m, k, repeats, approx)
                tab.add(label, t_g, what)
            except Exception as exc:
                tab.add(label, "failed", f"{type(exc).__name__}: {exc}")
    results["gpboost"] = tab.rows
    return tab


def euclidean(sc, repeats, results):
    tabs = []
    for dim in sc["eu_dims"]:
        n, nq, k = sc["eu_n"], min(1024, sc["eu_n"]), 8
        x = np.random.default_rng(dim).normal(size=(n, dim))
        qi = np.random.default_rng(dim + 1).integers(0, n, nq)
        q = x[qi]
        tab = Table(f"Euclidean, N = {n:,}, D = {dim}, k = {k}, {nq:,} queries",
                    ["engine", "build (s)", "query (s)", "queries/s", "recall"])
        brute = pcct.cover_tree(x, algorithm="brute")
        ib, db = brute.knn(k, qi)
        for name, algo in (("pcct auto", "auto"), ("pcct kd-tree", "kdtree"), ("pcct cover tree", "tree"),
                           ("pcct brute force", "brute")):
            if algo == "tree" and dim > 16 and n > 4096:
                tab.add(name, "-", "-", "-", "not run (no pruning above D = 16; build > 5 s)")
                continue
            tb, _, index = median_time(lambda: pcct.cover_tree(x, algorithm=algo), repeats)
            t, _, (i, d) = median_time(lambda: index.knn(k, qi), repeats)
            tab.add(f"{name} ({index.algorithm})", tb, t, nq / t, recall(i, d, ib, db))
        ckd, why = optional("scipy.spatial")
        if ckd is None:
            tab.add("scipy cKDTree", "missing", "-", "-", why)
        else:
            tb, _, tree = median_time(lambda: ckd.cKDTree(x), repeats)
            t, _, (d, i) = median_time(lambda: tree.query(q, k=k, workers=-1), repeats)
            tab.add("scipy cKDTree (workers=-1)", tb, t, nq / t, recall(i, d, ib, db))
        skl, why = optional("sklearn.neighbors")
        if skl is None:
            tab.add("scikit-learn KDTree / BallTree", "missing", "-", "-", why)
        else:
            for cls in (skl.KDTree, skl.BallTree):
                tb, _, tree = median_time(lambda: cls(x), repeats)
                t, _, (d, i) = median_time(lambda: tree.query(q, k=k), repeats)
                tab.add(f"scikit-learn {cls.__name__} (query on 1 thread: it has no threads option)", tb, t, nq / t,
                        recall(i, d, ib, db))
        faiss, why = optional("faiss")
        if faiss is None:
            tab.add("faiss IndexFlatL2", "missing", "-", "-", why)
        else:
            tb, _, index = median_time(lambda: faiss_flat(faiss, x), repeats)
            t, _, (d2, i) = median_time(lambda: index.search(np.ascontiguousarray(q, dtype=np.float32), k), repeats)
            tab.add("faiss IndexFlatL2 (float32, exact)", tb, t, nq / t, recall(i, np.sqrt(np.maximum(d2, 0)), ib, db))
        results[f"euclidean_d{dim}"] = tab.rows
        tabs.append(tab)
    return tabs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=sorted(SCALES), default="full")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=["residual", "pred", "gpboost", "euclid"], action="append")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    sc = SCALES[args.scale]
    parts = args.only or ["residual", "pred", "gpboost", "euclid"]
    results: dict = {"machine": machine(), "revision": git_revision(), "simd": pcct.simd_level(),
                     "scale": args.scale, "repeats": args.repeats}
    print(f"machine: {results['machine']}; pcct {results['revision']}, SIMD {results['simd']}; "
          f"scale {args.scale}; medians of {args.repeats} runs\n")
    runners = {"residual": residual, "pred": predecessor, "gpboost": gpboost_peer, "euclid": euclidean}
    for part in parts:
        out = runners[part](sc, args.repeats, results)
        for tab in out if isinstance(out, list) else [out]:
            print(tab.markdown(), "\n", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
