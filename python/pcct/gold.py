"""The standard "gold" workload (exact generators and seeds; see DEVELOPERS.md).

32,768 points ~ N(0, I_3), RBF kernel (variance 1, lengthscale 1), 512 inducing points,
1,024 query ids (each query finds itself at distance 0), k = 50.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import Kernel, kernel_from_name
from .model import choose_inducing

GOLD_N = 32768
GOLD_DIM = 3
GOLD_INDUCING = 512
GOLD_QUERIES = 1024
GOLD_K = 50


@dataclass
class GoldWorkload:
    coords: np.ndarray      # N x 3
    inducing: np.ndarray    # sorted ids
    queries: np.ndarray     # query ids (None would mean all points)
    kernel: Kernel
    k: int


def gold_points(n: int = GOLD_N, dim: int = GOLD_DIM) -> np.ndarray:
    return np.random.default_rng(42).normal(0, 1, (n, dim))


def gold_inducing(n: int = GOLD_N, count: int = GOLD_INDUCING) -> np.ndarray:
    return choose_inducing(n, count, seed=0)  # np.sort(default_rng(0).choice(n, count, replace=False))


def gold_queries(n: int = GOLD_N, count: int = GOLD_QUERIES) -> np.ndarray:
    return np.random.default_rng(43).integers(0, n, count).astype(np.int64)


def gold_workload(n: int = GOLD_N, n_queries: int | None = GOLD_QUERIES, k: int = GOLD_K,
                  inducing: int = GOLD_INDUCING, kernel: str = "rbf", lengthscale=1.0, variance: float = 1.0,
                  dim: int = GOLD_DIM) -> GoldWorkload:
    """The gold workload, optionally rescaled. ``n_queries=None`` queries every point."""
    queries = np.arange(n, dtype=np.int64) if n_queries is None else gold_queries(n, n_queries)
    return GoldWorkload(gold_points(n, dim), gold_inducing(n, min(inducing, n)), queries,
                        kernel_from_name(kernel, lengthscale, variance), k)
