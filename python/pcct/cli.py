"""The `pcct` command: `pcct knn ...` on your files, `pcct bench gold ...` on the built-in workload.

A thin layer: argument parsing, file I/O and progress; all computation runs in the C++ core.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import bench
from .index import ALGORITHMS, cover_tree
from .kernels import KERNEL_NAMES, kernel_from_name
from .progress import Progress


class CliError(Exception):
    """A user error: printed as `pcct: error: ...`, exit status 2."""


def read_array(path: str, what: str, ndim: int) -> np.ndarray:
    """A .npy file as stored, or a .csv file as a matrix (ndim 2: one row per line, even for a
    single line) or a vector (ndim 1)."""
    p = Path(path)
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        if p.suffix in (".csv", ".txt"):
            a = np.loadtxt(p, delimiter=",", ndmin=2)
            return a if ndim == 2 else a.reshape(-1)
    except Exception as exc:
        raise CliError(f"cannot read {what} '{path}': {exc}") from exc
    raise CliError(f"cannot read {what} '{path}': expected a .npy or .csv file")


def read_ids(path: str, what: str) -> np.ndarray:
    """Point ids: integers, or whole numbers as a CSV file stores them."""
    a = read_array(path, what, 1)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise CliError(f"{what} '{path}' must contain integer point ids")
        a = a.astype(np.int64)
    return a


def read_points(path: str, what: str) -> np.ndarray:
    """Points, one per row; a 1-D .npy array is points on a line."""
    a = read_array(path, what, 2)
    return a[:, None] if a.ndim == 1 else a


def write_array(path: str, a: np.ndarray, what: str) -> None:
    p = Path(path)
    try:
        if p.suffix == ".npy":
            np.save(p, a)
        elif p.suffix in (".csv", ".txt"):
            np.savetxt(p, a, delimiter=",", fmt="%d" if a.dtype.kind == "i" else "%.17g")
        else:
            raise CliError(f"cannot write {what} '{path}': expected a .npy or .csv file name")
    except CliError:
        raise
    except Exception as exc:
        raise CliError(f"cannot write {what} '{path}': {exc}") from exc


def parse_lengthscale(text: str):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise CliError(f"--lengthscale must be a number or comma-separated numbers, got '{text}'") from exc
    return values[0] if len(values) == 1 else values


def cmd_knn(args) -> int:
    progress = Progress(args.quiet)
    coords = read_points(args.coords, "--coords")
    kernel = None
    if args.kernel:
        kernel = kernel_from_name(args.kernel, parse_lengthscale(args.lengthscale), args.variance)
    elif args.v or args.p:
        raise CliError("--v/--p need --kernel (K(x_i, x_j) still comes from the kernel)")
    kw = {}
    if args.v or args.p:
        if not (args.v and args.p):
            raise CliError("--v and --p must be given together")
        kw = {"v_matrix": read_array(args.v, "--v", 2), "p_diag": read_array(args.p, "--p", 1)}
    elif kernel is not None:
        if args.inducing_ids:
            kw = {"inducing": read_ids(args.inducing_ids, "--inducing-ids")}
        else:
            kw = {"inducing_count": args.inducing, "seed": args.seed}
    if args.query_ids and args.query_coords:
        raise CliError("give --query-ids or --query-coords, not both")
    queries = None
    if args.query_ids:
        queries = read_ids(args.query_ids, "--query-ids")
    elif args.query_coords:
        queries = read_points(args.query_coords, "--query-coords")
    progress.say(f"building the index over {coords.shape[0]} points")
    index = cover_tree(coords, kernel, algorithm=args.algorithm, n_threads=args.threads, base=args.base, **kw)
    total = coords.shape[0] if queries is None else len(queries)
    progress.say(f"querying {total} points (k={args.k}, predecessor={args.predecessor})")
    if queries is None:
        queries = np.arange(total, dtype=np.int64)
    ids, dists, _, _ = bench.run_queries(index, queries, args.k, args.predecessor, args.threads, progress)
    write_array(args.out, ids, "--out")
    if args.distances:
        write_array(args.distances, dists, "--distances")
    progress.say(f"wrote {args.out}" + (f" and {args.distances}" if args.distances else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pcct", description="Exact cover-tree k-nearest neighbours.")
    sub = parser.add_subparsers(dest="command", required=True)

    knn = sub.add_parser("knn", help="k nearest neighbours of your points (.npy or .csv)")
    knn.add_argument("--coords", required=True, help="N x D coordinates")
    knn.add_argument("--kernel", choices=KERNEL_NAMES,
                     help="residual-correlation metric with this kernel (default: Euclidean)")
    knn.add_argument("--lengthscale", default="1", help="scalar, or comma-separated per dimension")
    knn.add_argument("--variance", type=float, default=1.0)
    knn.add_argument("--inducing", type=int, default=None, help="number of random inducing points (default min(512, N))")
    knn.add_argument("--inducing-ids", help="file with explicit inducing point ids")
    knn.add_argument("--seed", type=int, default=0, help="seed for choosing inducing points")
    knn.add_argument("--v", help="user factor V (N x m), with --p")
    knn.add_argument("--p", help="user residual variances p (N)")
    knn.add_argument("--query-ids", help="query point ids (1-D integers); default: every point")
    knn.add_argument("--query-coords", help="new query points (n x D coordinates)")
    knn.add_argument("--k", type=int, default=50)
    knn.add_argument("--predecessor", action="store_true", help="query i only sees ids j < i")
    knn.add_argument("--algorithm", choices=ALGORITHMS, default="auto")
    knn.add_argument("--threads", type=int, default=None)
    knn.add_argument("--base", type=float, default=2.0, help="cover-tree level ratio")
    knn.add_argument("--out", required=True, help="output ids (.npy or .csv)")
    knn.add_argument("--distances", help="output distances (.npy or .csv)")
    knn.add_argument("--quiet", action="store_true")
    knn.set_defaults(func=cmd_knn)

    b = sub.add_parser("bench", help="benchmarks on built-in workloads")
    bsub = b.add_subparsers(dest="workload", required=True)
    gold = bsub.add_parser("gold", help="the gold residual-correlation workload")
    gold.add_argument("--n", type=int, default=32768)
    gold.add_argument("--queries", default=None, help="number of query ids, or 'all' (default 1024; all with --predecessor)")
    gold.add_argument("--k", type=int, default=50)
    gold.add_argument("--kernel", choices=KERNEL_NAMES, default="rbf")
    gold.add_argument("--inducing", type=int, default=512)
    gold.add_argument("--predecessor", action="store_true")
    gold.add_argument("--algorithm", choices=["auto", "tree", "scan", "brute"], default="auto")
    gold.add_argument("--threads", type=int, default=None)
    gold.add_argument("--base", type=float, default=2.0, help="cover-tree level ratio")
    gold.add_argument("--repeats", type=int, default=1, help="query repetitions (the median is reported)")
    gold.add_argument("--no-verify", action="store_true", help="skip the brute-force recall check")
    gold.add_argument("--json", action="store_true")
    gold.add_argument("--quiet", action="store_true")
    gold.set_defaults(func=bench.main_gold)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ValueError, IndexError) as exc:
        print(f"pcct: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
