"""Shared helpers for the benchmark scripts: machine description, timing, NumPy baselines."""
from __future__ import annotations

import importlib
import os
import platform
import statistics
import subprocess
import time

import numpy as np


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


def faiss_flat(faiss, x):
    """The faiss peer: an exact float32 IndexFlatL2 over x."""
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(np.ascontiguousarray(x, dtype=np.float32))
    return index


def median_time(fn, repeats: int):
    """Runs fn() `repeats` times; returns (median seconds, all seconds, last result)."""
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def optional(module: str):
    """(module, None), or (None, why) when it cannot be imported: a peer is reported missing,
    never skipped silently."""
    try:
        return importlib.import_module(module), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def topk_rows(d: np.ndarray, k: int, col_offset: int = 0):
    """k smallest per row, sorted by (distance, id)."""
    part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(d.shape[1]), (d.shape[0], 1))
    vals = np.take_along_axis(d, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    return np.take_along_axis(part, order, axis=1) + col_offset, np.take_along_axis(vals, order, axis=1)


def numpy_residual_knn(x, v, p, kernel, queries, k, chunk=256):
    """Exact residual-correlation k-NN with NumPy + BLAS (GEMM for V V^T), float64.

    As lean as NumPy allows, so that ratios against it are not flattered: V's rows are scaled
    by 1/sqrt(p) once, so rho = K s_q s_j - V'_q V'^T with s = 1/sqrt(p); for the RBF kernel
    log s and log variance are folded into the exponent, so K s_q s_j is one GEMM (for the
    squared distances) and one exp; one (chunk x N) buffer is updated in place; selection is on
    1 - |rho| (= d^2), with sqrt only for the k results. The query's own id is at distance 0,
    as in pcct.
    """
    ls = float(kernel.lengthscales[0])
    xs = x / ls if ls != 1.0 else x
    sq = (xs * xs).sum(1)
    inv_sqrt_p = 1.0 / np.sqrt(p)
    vs = v * inv_sqrt_p[:, None]
    rbf = kernel.name == "rbf"
    if rbf:  # K_qj s_q s_j = exp(x_q.x_j + c_q + c_j)
        c = np.log(inv_sqrt_p) - 0.5 * sq
        c_query = c + np.log(kernel.variance)
    ids = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k))
    buf = np.empty((min(chunk, len(queries)), len(x)))
    tmp = np.empty_like(buf)
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        a, b = buf[:len(q)], tmp[:len(q)]
        np.matmul(xs[q], xs.T, out=a)
        if rbf:
            a += c_query[q, None]
            a += c[None, :]
            np.exp(a, out=a)
        else:
            a *= -2.0
            a += sq[q, None]
            a += sq[None, :]
            np.maximum(a, 0.0, out=a)  # squared scaled distances
            _kernel_in_place(kernel.name, a, b)
            a *= kernel.variance * inv_sqrt_p[q, None]
            a *= inv_sqrt_p[None, :]
        np.matmul(vs[q], vs.T, out=b)
        a -= b  # rho
        np.abs(a, out=a)
        np.minimum(a, 1.0, out=a)
        np.subtract(1.0, a, out=a)  # d^2
        a[np.arange(len(q)), q] = 0.0
        ids[s:s + chunk], d2 = topk_rows(a, k)
        dist[s:s + chunk] = np.sqrt(d2)
    return ids, dist


def _kernel_in_place(name: str, a: np.ndarray, tmp: np.ndarray) -> None:
    """a (squared scaled distances) -> the kernel's value at variance 1; tmp is scratch."""
    if name == "rbf":
        a *= -0.5
        np.exp(a, out=a)
        return
    np.sqrt(a, out=a)
    a *= {"matern12": 1.0, "matern32": np.sqrt(3.0), "matern52": np.sqrt(5.0)}[name]  # s
    if name == "matern32":
        np.add(a, 1.0, out=tmp)  # 1 + s
    elif name == "matern52":
        np.multiply(a, 1.0 / 3.0, out=tmp)
        tmp += 1.0
        tmp *= a
        tmp += 1.0  # 1 + s + s^2 / 3
    np.negative(a, out=a)
    np.exp(a, out=a)
    if name != "matern12":
        a *= tmp
