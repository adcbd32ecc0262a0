"""The `pcct` command: `pcct knn ...` on your files, `pcct bench gold ...` on the built-in workload.

A thin layer: argument parsing, file I/O and progress; all computation runs in the C++ core.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

from . import bench
from .index import ALGORITHMS, cover_tree
from .kernels import KERNEL_NAMES, kernel_from_name
from .progress import Progress


class CliError(Exception):
    """A user error: printed as `pcct: error: ...`, exit status 2."""


def _is_number(field: str) -> bool:
    if "_" in field:  # Python's float() reads 1_000; NumPy's text reader does not
        return False
    try:
        float(field)
        return True
    except ValueError:
        return False


# A header field: a name of letters, digits, '_', spaces, '-', '/' and brackets that starts with
# a letter or '_' (x, lon_2, "col 1", x-coord, x (m), température; quotes allowed), so that a
# mistyped number (1.O, O.5, -2.5e) is never taken for one; nor a word that stands for a missing
# or special value.
_HEADER_FIELD = re.compile(r'^"?[^\W\d][\w \-/()\[\]]*"?$')
_NOT_NAMES = {"na", "nan", "null", "none", "inf", "infinity", "true", "false"}
_EXPONENT = re.compile(r'^"?[eE][+-]?\d')  # e-5, E+3, e7: a number with its mantissa lost


def _is_names(fields: list[str]) -> bool:
    names = [f.strip() for f in fields]
    return all(_HEADER_FIELD.match(f) and not _EXPONENT.match(f) and not _is_number(f)
               and f.strip('"').lower() not in _NOT_NAMES for f in names)


def _is_header(fields: list[str], next_fields: list[str] | None) -> bool:
    """A first line of names, followed by a line of numbers with as many fields, or by nothing
    (a header-only file holds no data)."""
    if next_fields is None:
        return _is_names(fields)
    return (len(next_fields) == len(fields) and _is_names(fields)
            and all(_is_number(f.strip()) for f in next_fields))


def _text_rows(p: Path) -> tuple[list[str], list[int], str | None]:
    """The data lines of a text table, their line numbers in the file (from 1), and their
    delimiter (',' if any line has a comma, else whitespace, as np.savetxt writes by default).
    Skipped: a UTF-8 byte-order mark, blank lines, '#' comments, and a first line of names
    (x,y or "lon","lat") followed by a line of numbers with as many fields, or alone. Anything else that
    is not a number is an error, so a typo never drops a point."""
    lines, numbers = [], []
    for number, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), start=1):
        data = line.split("#", 1)[0]
        if data.strip():
            lines.append(data)
            numbers.append(number)
    delimiter = "," if any("," in ln for ln in lines) else None
    if lines and _is_header(lines[0].split(delimiter), lines[1].split(delimiter) if len(lines) > 1 else None):
        lines, numbers = lines[1:], numbers[1:]
    return lines, numbers, delimiter


def _first_bad_line(lines: list[str], numbers: list[int], delimiter: str | None) -> str | None:
    """Where a table that np.loadtxt refused goes wrong, in the file's own line numbers."""
    width = None
    for line, number in zip(lines, numbers):
        fields = [f.strip() for f in line.split(delimiter)]
        for column, field in enumerate(fields, start=1):
            if not _is_number(field):
                return f"line {number}, field {column}: '{field}' is not a number"
        if width is not None and len(fields) != width:
            return f"line {number} has {len(fields)} fields, the lines before it {width}"
        width = len(fields)
    return None


_SUFFIXES = (".npy", ".csv", ".txt")
_NPY_MAGIC = b"\x93NUMPY"


def _suffix(path: str) -> str:
    return Path(path).suffix.lower()


def _load_npy(p: Path) -> np.ndarray:
    with open(p, "rb") as f:
        if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:  # e.g. an .npz archive or a text table
            raise ValueError("not a NumPy .npy array file (text tables need a .csv or .txt name)")
    return np.load(p, allow_pickle=False)


def _check_finite_text(a: np.ndarray, numbers: list[int]) -> None:
    """Non-finite values of a text table, named by the file's line (the API would give the row)."""
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        row, column = bad[0]
        raise ValueError(f"line {numbers[row]}, field {column + 1}: {a[row, column]} is not a finite number")


def read_array(path: str, what: str, ndim: int) -> np.ndarray:
    """A .npy file as stored, or a .csv/.txt table (comma- or whitespace-separated, see
    _text_rows) as a matrix (ndim 2: one row per line, even for a single line) or a vector
    (ndim 1: one row or one column). Suffixes in any case."""
    p = Path(path)
    if _suffix(path) not in _SUFFIXES:
        raise CliError(f"cannot read {what} '{path}': expected a .npy, .csv or .txt file")
    try:
        if _suffix(path) == ".npy":
            a = _load_npy(p)
        else:
            lines, numbers, delimiter = _text_rows(p)
            if not lines:
                if ndim != 1:
                    raise ValueError("the file holds no data")
                a = np.zeros(0)  # an empty list (e.g. no query ids: a (0, k) answer, as from an empty .npy)
            else:
                try:
                    a = np.loadtxt(lines, delimiter=delimiter, ndmin=2, comments=None)
                except ValueError as exc:  # name the file's line, not the n-th data line
                    raise ValueError(_first_bad_line(lines, numbers, delimiter) or str(exc)) from exc
                _check_finite_text(a, numbers)
    except Exception as exc:
        raise CliError(f"cannot read {what} '{path}': {exc}") from exc
    if ndim == 1:
        # A single row or a single column is a vector; anything else would be guessed wrongly.
        if a.ndim == 2 and 1 in a.shape:
            a = a.reshape(-1)
        if a.ndim != 1:
            raise CliError(f"{what} '{path}' must hold a 1-D list (one row or one column), got shape {a.shape}")
    return a


def read_ids(path: str, what: str) -> np.ndarray:
    """Point ids: integers, or whole numbers as a CSV file stores them."""
    a = read_array(path, what, 1)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)) or np.any(np.abs(a) > 2.0**62):
            raise CliError(f"{what} '{path}' must contain integer point ids")
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iu":
        raise CliError(f"{what} '{path}' must contain integer point ids, got dtype {a.dtype}")
    return a


def read_points(path: str, what: str) -> np.ndarray:
    """Points, one per row; a 1-D .npy array is points on a line."""
    a = read_array(path, what, 2)
    if a.ndim == 1:
        return a[:, None]
    if a.ndim != 2:
        raise CliError(f"{what} '{path}' must hold an N x D matrix (one point per row), got shape {a.shape}")
    return a


def check_output_name(path: str, what: str) -> None:
    """Refuses an output name before any work is done (and before any other file is written)."""
    p = Path(path)
    if _suffix(path) not in _SUFFIXES:
        raise CliError(f"cannot write {what} '{path}': expected a .npy, .csv or .txt file name")
    if not p.parent.is_dir():
        raise CliError(f"cannot write {what} '{path}': no directory '{p.parent}'")
    if p.is_dir():
        raise CliError(f"cannot write {what} '{path}': it is a directory")


def same_file(a: str, b: str) -> bool:
    """The same file by name, symbolic link or hard link."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def write_arrays(outputs: list[tuple[str, np.ndarray, str]]) -> None:
    """Writes every output to a temporary file next to its target (through a symbolic link, to
    the file it names), and renames them into place only when all are written, so a failed
    command leaves no output (nor a half-written one). An existing file keeps its permissions."""
    written = []
    try:
        for number, (path, a, what) in enumerate(outputs):
            check_output_name(path, what)
            target = Path(os.path.realpath(path))
            tmp = target.with_name(f".pcct-{os.getpid()}-{number}.tmp{target.suffix}")  # short: any name fits
            written.append((tmp, target))
            try:
                if _suffix(path) == ".npy":
                    with open(tmp, "wb") as f:  # np.save(name) would add '.npy' to other suffixes
                        np.save(f, a)
                else:
                    np.savetxt(tmp, a, delimiter=",", fmt="%d" if a.dtype.kind == "i" else "%.17g")
                if target.exists():
                    shutil.copymode(target, tmp)
            except Exception as exc:
                raise CliError(f"cannot write {what} '{path}': {exc}") from exc
        for tmp, target in written:
            os.replace(tmp, target)
    finally:
        for tmp, _ in written:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:  # never hide the error that brought us here
                pass


def parse_lengthscale(text: str):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise CliError(f"--lengthscale must be a number or comma-separated numbers, got '{text}'") from exc
    return values[0] if len(values) == 1 else values


def given(args, *names: str) -> list[str]:
    """The options among `names` that the user gave (their defaults are None)."""
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) is not None]


def check_metric_options(args) -> None:
    """Options that would otherwise be silently ignored are errors (the Python API refuses the
    same combinations, except that it ignores `seed` where no inducing points are drawn)."""
    if not args.kernel:
        extra = given(args, "lengthscale", "variance", "inducing", "inducing_ids", "seed", "v", "p")
        if extra:
            raise CliError(f"{', '.join(extra)} need --kernel (the residual-correlation metric; "
                           "without --kernel the metric is Euclidean)")
    if args.v is not None or args.p is not None:
        if args.v is None or args.p is None:
            raise CliError("--v and --p must be given together")
        extra = given(args, "inducing", "inducing_ids", "seed")
        if extra:
            raise CliError(f"give either your own factors (--v, --p) or inducing points ({', '.join(extra)}), "
                           "not both")
    if args.inducing_ids is not None:
        extra = given(args, "inducing", "seed")
        if extra:
            raise CliError(f"--inducing-ids fixes the inducing points: do not also give {', '.join(extra)}")


def cmd_knn(args) -> int:
    progress = Progress(args.quiet)
    check_metric_options(args)
    check_output_name(args.out, "--out")
    outputs = {"--out": args.out}
    if args.distances:
        check_output_name(args.distances, "--distances")
        outputs["--distances"] = args.distances
        if same_file(args.distances, args.out):
            raise CliError("--out and --distances name the same file")
    inputs = {"--coords": args.coords, "--v": args.v, "--p": args.p, "--inducing-ids": args.inducing_ids,
              "--query-ids": args.query_ids, "--query-coords": args.query_coords}
    for out_option, out_path in outputs.items():
        for in_option, in_path in inputs.items():
            if in_path and same_file(in_path, out_path):
                raise CliError(f"{out_option} would overwrite the input file of {in_option} ('{in_path}')")
    coords = read_points(args.coords, "--coords")
    kernel = None
    if args.kernel:
        lengthscale = parse_lengthscale(args.lengthscale if args.lengthscale is not None else "1")
        kernel = kernel_from_name(args.kernel, lengthscale, args.variance if args.variance is not None else 1.0)
    kw = {}
    if args.v is not None:
        kw = {"v_matrix": read_array(args.v, "--v", 2), "p_diag": read_array(args.p, "--p", 1)}
    elif kernel is not None:
        if args.inducing_ids is not None:
            kw = {"inducing": read_ids(args.inducing_ids, "--inducing-ids")}
        else:
            kw = {"inducing_count": args.inducing, "seed": args.seed if args.seed is not None else 0}
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
    write_arrays([(args.out, ids, "--out")] + ([(args.distances, dists, "--distances")] if args.distances else []))
    progress.say(f"wrote {args.out}" + (f" and {args.distances}" if args.distances else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pcct", description="Exact cover-tree k-nearest neighbours.")
    sub = parser.add_subparsers(dest="command", required=True)

    knn = sub.add_parser("knn", help="k nearest neighbours of your points (.npy, .csv or .txt)")
    knn.add_argument("--coords", required=True,
                     help="N x D coordinates: .npy (a 1-D array is N points on a line), or a .csv/.txt table "
                          "(comma-, space- or tab-separated; an optional header line of names)")
    knn.add_argument("--kernel", choices=KERNEL_NAMES,
                     help="residual-correlation metric with this kernel (default: Euclidean)")
    knn.add_argument("--lengthscale", default=None, help="scalar, or comma-separated per dimension (default 1)")
    knn.add_argument("--variance", type=float, default=None, help="kernel variance (default 1)")
    knn.add_argument("--inducing", type=int, default=None, help="number of random inducing points (default min(512, N))")
    knn.add_argument("--inducing-ids", help="file with explicit inducing point ids")
    knn.add_argument("--seed", type=int, default=None, help="seed for choosing inducing points (default 0)")
    knn.add_argument("--v", help="user factor V (N x m), with --p")
    knn.add_argument("--p", help="user residual variances p (N)")
    knn.add_argument("--query-ids", help="query point ids (one row or one column of integers); default: every point")
    knn.add_argument("--query-coords", help="new query points (n x D coordinates)")
    knn.add_argument("--k", type=int, default=50, help="neighbours per query (default 50)")
    knn.add_argument("--predecessor", action="store_true", help="query i only sees ids j < i")
    knn.add_argument("--algorithm", choices=ALGORITHMS, default="auto",
                     help="all exact; auto picks the fastest for the metric and call (default)")
    knn.add_argument("--threads", type=int, default=None, help="worker threads (default: OpenMP's default)")
    knn.add_argument("--base", type=float, default=2.0, help="cover-tree level ratio")
    knn.add_argument("--out", required=True, help="output ids (.npy, .csv or .txt)")
    knn.add_argument("--distances", help="output distances (.npy, .csv or .txt)")
    knn.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    knn.set_defaults(func=cmd_knn)

    b = sub.add_parser("bench", help="benchmarks on built-in workloads")
    bsub = b.add_subparsers(dest="workload", required=True)
    gold = bsub.add_parser("gold", help="the gold residual-correlation workload")
    gold.add_argument("--n", type=int, default=32768, help="number of points (default 32768)")
    gold.add_argument("--queries", default=None, help="number of query ids, or 'all' (default 1024; all with --predecessor)")
    gold.add_argument("--k", type=int, default=50, help="neighbours per query (default 50)")
    gold.add_argument("--kernel", choices=KERNEL_NAMES, default="rbf", help="covariance kernel (default rbf)")
    gold.add_argument("--inducing", type=int, default=None, help="number of inducing points (default min(512, --n))")
    gold.add_argument("--predecessor", action="store_true", help="query i only sees ids j < i")
    gold.add_argument("--algorithm", choices=["auto", "tree", "scan", "brute"], default="auto",
                      help="all exact (default auto)")
    gold.add_argument("--threads", type=int, default=None, help="worker threads (default: OpenMP's default)")
    gold.add_argument("--base", type=float, default=2.0, help="cover-tree level ratio")
    gold.add_argument("--repeats", type=int, default=1, help="query repetitions (the median is reported)")
    gold.add_argument("--no-verify", action="store_true", help="skip the brute-force recall check")
    gold.add_argument("--json", action="store_true", help="print the report as JSON")
    gold.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    gold.set_defaults(func=bench.main_gold)
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"pcct: warning: {message}", file=sys.stderr)


# The Python API and the core name their parameters in errors; the command line names its
# options. Whole words only ("inducing points" stays; "inducing must ..." is --inducing-ids).
_OPTION_OF_PARAMETER = [
    (r"\bn_threads\b", "--threads"), (r"\binducing_count\b", "--inducing"),
    (r"\binducing\b(?! point)", "--inducing-ids"), (r"\bpredecessor_mode\b", "--predecessor"),
    (r"\bv_matrix\b", "--v"), (r"\bp_diag\b", "--p"), (r"\bcoords\b", "--coords"),
    (r"\b(seed must be a non-negative integer) or None\b", r"\1"),  # None: Python only
    (r"\b(base|lengthscale|variance|seed)\b", r"--\1"), (r"^k\b", "--k"),
    (r"\balgorithm='(\w+)'", r"--algorithm \1"),
]


def _in_option_names(message: str, args=None) -> str:
    for pattern, option in _OPTION_OF_PARAMETER:
        message = re.sub(r"(?<![-\w./'])" + pattern, option, message)
    query_option = "--query-coords" if getattr(args, "query_coords", None) else "--query-ids"
    return re.sub(r"^queries\b", query_option, message)  # the API's name for either option


INTERRUPTED = 130  # main()'s status after Ctrl-C (128 + SIGINT, as shells report it)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning  # the message only, not our source line
            return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: pcct's loops stop within ~50 ms; outputs are written only on success
        print("pcct: interrupted", file=sys.stderr)
        return INTERRUPTED
    except CliError as exc:  # already in the command line's terms
        print(f"pcct: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, IndexError) as exc:
        print(f"pcct: error: {_in_option_names(str(exc), args)}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # e.g. --n 1e11: say so, without a traceback
        print(f"pcct: error: out of memory ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the report cannot be printed (a full disk, a closed pipe)
        try:
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
            print(f"pcct: error: {exc}", file=sys.stderr)
        except OSError:
            pass
        return 2


def console_main() -> None:
    """The `pcct` command: main(), and after Ctrl-C the process ends by SIGINT itself, as Python
    does, so that a calling shell loop stops too (main() alone returns INTERRUPTED to a Python
    caller)."""
    code = main()
    if code == INTERRUPTED and threading.current_thread() is threading.main_thread():
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
