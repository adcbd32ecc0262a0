"""`pcct bench gold`: build, query and verify the gold workload, with timings and counters."""
from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np

from . import _core
from .gold import gold_workload
from .index import KnnIndex, cover_tree
from .model import ResidualModel
from .progress import Progress
from .recall import recall


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_queries(index: KnnIndex, queries, k: int, predecessor: bool, threads, progress: Progress):
    """Queries in chunks (for progress display); returns ids, dists, seconds and the summed
    counters of last_stats.

    Chunks are large (at most 8) because each call of an "auto" index samples 32 queries on
    the tree engines and splits on its own: gold predecessor mode took 5.2 s in 20 calls of 1,638
    queries, 4.75 s in 8 calls of 4,096 and 4.70 s in one call (one run, same machine)."""
    chunk = max(4096, -(-len(queries) // 8))
    ids, dists = [], []
    totals = {"distance_evaluations": 0, "nodes_visited": 0, "subtrees_pruned": 0, "brute_force_queries": 0,
              "seed_evaluations": 0, "scan_queries": 0}
    by_level: dict = {}
    t0 = time.perf_counter()
    for start in range(0, max(len(queries), 1), chunk):  # one call even for no queries: (0, k) arrays
        i, d = index.knn(k, queries[start:start + chunk], predecessor_mode=predecessor, n_threads=threads)
        ids.append(i)
        dists.append(d)
        for key in totals:
            totals[key] += index.last_stats[key]
        for level, count in index.last_stats["evaluations_by_level"].items():
            by_level[level] = by_level.get(level, 0) + count
        progress.update(min(start + chunk, len(queries)), len(queries))
    seconds = time.perf_counter() - t0
    totals["evaluations_by_level"] = by_level
    return np.vstack(ids), np.vstack(dists), seconds, totals


def bench_gold(n, n_queries, k, kernel, inducing, predecessor, algorithm, threads, repeats, verify, quiet, base=2.0):
    progress = Progress(quiet)
    w = gold_workload(n=n, n_queries=n_queries, k=k, inducing=inducing, kernel=kernel)
    progress.say(f"gold: N={n} queries={len(w.queries)} k={k} kernel={kernel} inducing={len(w.inducing)}")
    t0 = time.perf_counter()
    model = ResidualModel(w.coords, w.kernel, inducing=w.inducing, n_threads=threads)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = cover_tree(model, algorithm=algorithm, n_threads=threads, base=base)
    t_index = time.perf_counter() - t0
    times = []
    for r in range(repeats):
        progress.say(f"querying ({r + 1}/{repeats})")
        ids, dists, seconds, stats = run_queries(index, w.queries, k, predecessor, threads, progress)
        times.append(seconds)
    peak = peak_rss_mb()
    q_seconds = float(np.median(times))
    result = {
        "workload": "gold",
        "n": n, "dim": w.coords.shape[1], "queries": int(len(w.queries)), "k": k, "kernel": kernel,
        "inducing": int(len(w.inducing)), "predecessor": bool(predecessor),
        "algorithm": index.algorithm, "threads": threads or _core.default_threads(), "simd": _core.simd_level(),
        "build_v_seconds": t_model, "build_index_seconds": t_index, "build_seconds": t_model + t_index,
        "query_seconds": q_seconds, "query_seconds_all": times,
        "queries_per_second": len(w.queries) / q_seconds,
        "distance_evaluations_per_query": stats["distance_evaluations"] / len(w.queries),
        "nodes_visited_per_query": stats["nodes_visited"] / len(w.queries),
        "subtrees_pruned_per_query": stats["subtrees_pruned"] / len(w.queries),
        "brute_force_queries": stats["brute_force_queries"],
        "scan_queries": stats["scan_queries"],
        "seed_evaluations_per_query": stats["seed_evaluations"] / len(w.queries),
        "evaluations_per_query_by_level": {str(l): c / len(w.queries) for l, c in sorted(stats["evaluations_by_level"].items(), reverse=True)},
        "peak_rss_mb": peak,
        "input_mb": (w.coords.nbytes + model.n_points * model.rank * 8) / 2**20,
    }
    if index.algorithm != "brute":
        info = index.build_info
        result["base"] = base
        result["build_evaluations_per_point"] = info["distance_evaluations"] / n
        result["tree_levels"] = info["levels"]
    if verify:
        progress.say("verifying against the brute force")
        ref = cover_tree(model, algorithm="brute", n_threads=threads)
        ref_ids, ref_d, _, _ = run_queries(ref, w.queries, k, predecessor, threads, progress)
        result["recall"] = recall(ids, dists, ref_ids, ref_d)
        result["identical_to_brute_force"] = bool(np.array_equal(ids, ref_ids) and np.array_equal(dists, ref_d))
    return result


def format_report(r: dict) -> str:
    lines = [
        f"pcct bench gold: N={r['n']} D={r['dim']} kernel={r['kernel']} inducing={r['inducing']} "
        f"queries={r['queries']} k={r['k']} predecessor={r['predecessor']}",
        f"  algorithm={r['algorithm']} threads={r['threads']} simd={r['simd']}",
        f"  build:   {r['build_seconds']:.3f} s  (V {r['build_v_seconds']:.3f} s + index {r['build_index_seconds']:.3f} s)",
        f"  query:   {r['query_seconds']:.3f} s  ({r['queries_per_second']:,.0f} queries/s, median of "
        f"{len(r['query_seconds_all'])})",
        f"  distance evaluations per query: {r['distance_evaluations_per_query']:,.0f}"
        + (f"  ({r['seed_evaluations_per_query']:,.0f} of them for seed bounds)" if r["seed_evaluations_per_query"] else ""),
    ]
    if r["algorithm"] == "auto":
        walked = r["queries"] - r["brute_force_queries"] - r["scan_queries"]
        lines.append(f"  auto: of {r['queries']:,} queries, {r['brute_force_queries']:,} answered by the brute force, "
                     f"{r['scan_queries']:,} by the level scan and {walked:,} by the tree walk")
    if "build_evaluations_per_point" in r:
        lines.append(f"  tree: base {r['base']}, {r['nodes_visited_per_query']:,.0f} nodes visited and "
                     f"{r['subtrees_pruned_per_query']:,.0f} subtrees pruned per query; build "
                     f"{r['build_evaluations_per_point']:,.0f} distance evaluations per point")
        levels = ", ".join(f"{l}: {c:,.0f}" for l, c in r["evaluations_per_query_by_level"].items() if c >= 0.5)
        lines.append(f"  evaluations per query by tree level: {levels}")
    if "recall" in r:
        same = "bit-identical" if r["identical_to_brute_force"] else "NOT identical"
        lines.append(f"  recall vs brute force: {r['recall']:.3f}  ({same} ids and distances)")
    lines.append(f"  peak memory: {r['peak_rss_mb']:.0f} MB  (input arrays + V: {r['input_mb']:.0f} MB)")
    return "\n".join(lines)


def gold_query_count(queries, predecessor: bool):
    """--queries: a count >= 1 or 'all' (None: 1024, or all points in predecessor mode)."""
    if queries == "all" or (queries is None and predecessor):
        return None
    if queries is None:
        return 1024
    try:
        count = int(queries)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"--queries must be a number of queries >= 1 or 'all', got {queries!r}")
    return count


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on every platform
        return 0


def main_gold(args) -> int:
    if args.inducing is None:  # as pcct knn: at most every point
        args.inducing = min(512, max(args.n, 1))
    for name in ("n", "k", "inducing", "repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.inducing > args.n:  # as pcct knn: inducing points are some of the points
        raise ValueError(f"--inducing ({args.inducing}) exceeds --n ({args.n})")
    need = args.n * (2 * args.inducing + 16) * 8  # V and its tree-ordered copy, coordinates, ids
    have = _physical_memory()
    if have and need > have:  # refused before allocating: overcommit could let it start, then kill it
        raise MemoryError(f"--n {args.n} with --inducing {args.inducing} needs about {need / 2**30:.0f} GiB, "
                          f"this machine has {have / 2**30:.0f} GiB")
    n_queries = gold_query_count(args.queries, args.predecessor)
    r = bench_gold(args.n, n_queries, args.k, args.kernel, args.inducing, args.predecessor, args.algorithm,
                   args.threads, args.repeats, not args.no_verify, args.quiet, args.base)
    if args.json:
        import json
        print(json.dumps(r, indent=2))
    else:
        print(format_report(r))
    sys.stdout.flush()
    return 0
