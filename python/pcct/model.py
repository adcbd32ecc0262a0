"""The residual model of a Vecchia-inducing-points Gaussian process (see DEVELOPERS.md)."""
from __future__ import annotations

import numpy as np

from . import _core
from ._arrays import as_ids, as_matrix, as_positive_int, as_seed, as_threads, as_vector
from .kernels import Kernel

__all__ = ["ResidualModel", "choose_inducing"]

DEFAULT_INDUCING = 512


def choose_inducing(n_points: int, count: int, seed: int) -> np.ndarray:
    """The inducing ids used for ``inducing_count``/``seed``: ``count`` ids drawn uniformly
    without replacement by NumPy's default generator, sorted (the gold workload's rule)."""
    return np.sort(np.random.default_rng(seed).choice(n_points, count, replace=False)).astype(np.int64)


def _check_kernel(kernel) -> Kernel:
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a pcct.kernels kernel (RBF, Matern12, ...), got {kernel!r}")
    return kernel


class ResidualModel:
    """V = L^{-1} K(U, X) with K(U, U) + 1e-6 variance I = L L^T, and
    p_i = max(K(x_i, x_i) - ||V_i||^2, 1e-9), all in float64.

    ``inducing_count`` points are drawn with ``seed`` (default: min(512, N); ``seed=None``
    draws different ones on every call), or give the explicit index array ``inducing``.
    """

    def __init__(self, coords, kernel, *, inducing_count=None, inducing=None, seed=0, n_threads=None):
        kernel = _check_kernel(kernel)
        seed = as_seed(seed)  # checked even where unused (explicit inducing ids)
        x = as_matrix(coords, "coords")
        n = x.shape[0]
        if inducing is not None:
            if inducing_count is not None:
                raise ValueError("give either inducing_count or inducing, not both")
            ids = as_ids(inducing, "inducing")
            if ids.size == 0:
                raise ValueError("inducing must hold at least one point id")
        else:
            if inducing_count is None:
                count = min(DEFAULT_INDUCING, n)
            else:
                count = as_positive_int(inducing_count, "inducing_count")
                if count > n:
                    raise ValueError(f"inducing_count ({count}) exceeds the number of points ({n})")
            ids = choose_inducing(n, count, seed)
        self._kernel = kernel
        self._core = _core.ResidualModel.from_inducing(
            x, kernel.name, float(kernel.variance), kernel.lengthscales, ids, as_threads(n_threads))

    @classmethod
    def from_factors(cls, coords, kernel, *, v_matrix, p_diag) -> "ResidualModel":
        """A model from the caller's factors V (N x m) and p (N); K still comes from ``kernel``."""
        kernel = _check_kernel(kernel)
        self = cls.__new__(cls)
        self._kernel = kernel
        self._core = _core.ResidualModel.from_factors(
            as_matrix(coords, "coords"), kernel.name, float(kernel.variance), kernel.lengthscales,
            as_matrix(v_matrix, "v_matrix"),
            as_vector(p_diag, "p_diag"))
        return self

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @property
    def n_points(self) -> int:
        return self._core.size

    @property
    def dim(self) -> int:
        return self._core.dim

    @property
    def rank(self) -> int:
        return self._core.rank

    @property
    def inducing(self) -> np.ndarray:
        """Inducing point ids (empty for a model built from factors)."""
        return self._core.inducing()

    @property
    def v_matrix(self) -> np.ndarray:
        """V (N x m), a copy."""
        return self._core.v()

    @property
    def p_diag(self) -> np.ndarray:
        """Residual variances p (N), a copy."""
        return self._core.p()

    def distances(self, a, b) -> np.ndarray:
        """Residual-correlation distances between dataset points a[i] and b[j]."""
        return self._core.pairwise(as_ids(a, "a"), as_ids(b, "b"))

    def __repr__(self) -> str:
        return f"ResidualModel(n_points={self.n_points}, dim={self.dim}, rank={self.rank}, kernel={self._kernel!r})"
