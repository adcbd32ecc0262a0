"""Shared helpers for the benchmark scripts: machine description, timing, NumPy baselines."""
from __future__ import annotations

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


def numpy_kernel(name: str, lengthscale: float, variance: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = ((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T) / lengthscale**2
    np.maximum(d2, 0, out=d2)
    if name == "rbf":
        return variance * np.exp(-0.5 * d2)
    r = np.sqrt(d2)
    if name == "matern12":
        return variance * np.exp(-r)
    if name == "matern32":
        s = np.sqrt(3.0) * r
        return variance * (1 + s) * np.exp(-s)
    s = np.sqrt(5.0) * r
    return variance * (1 + s + s * s / 3) * np.exp(-s)


def topk_rows(d: np.ndarray, k: int, col_offset: int = 0):
    """k smallest per row, sorted by (distance, id)."""
    part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(d.shape[1]), (d.shape[0], 1))
    vals = np.take_along_axis(d, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    return np.take_along_axis(part, order, axis=1) + col_offset, np.take_along_axis(vals, order, axis=1)


def numpy_residual_knn(x, v, p, kernel, queries, k, chunk=256):
    """Exact residual-correlation k-NN with NumPy + BLAS (GEMM for V V^T), float64."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k))
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        num = numpy_kernel(kernel.name, float(kernel.lengthscales[0]), kernel.variance, x[q], x) - v[q] @ v.T
        rho = num / np.sqrt(np.outer(p[q], p))
        d = np.sqrt(1.0 - np.minimum(np.abs(rho), 1.0))
        d[np.arange(len(q)), q] = 0.0
        ids[s:s + chunk], dist[s:s + chunk] = topk_rows(d, k)
    return ids, dist
