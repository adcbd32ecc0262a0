"""Stationary covariance kernels: k(x, y) = variance * f(||(x - y) / lengthscale||).

``lengthscale`` is a scalar or one value per dimension (ARD). These objects only carry
parameters; kernel values are computed by the C++ core in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Sequence, Union

import numpy as np

from . import _core

__all__ = ["Kernel", "RBF", "Matern12", "Matern32", "Matern52", "kernel_from_name"]

Lengthscale = Union[float, Sequence[float], np.ndarray]


@dataclass(frozen=True)
class Kernel:
    """Parameters are checked and stored normalised: ``variance`` a float, ``lengthscale`` a
    float (one value) or a tuple of floats (one per dimension), so kernels compare and hash by
    value (``RBF([1, 2]) == RBF((1.0, 2.0))``)."""

    lengthscale: Lengthscale = 1.0
    variance: float = 1.0
    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if isinstance(self.lengthscale, (str, bytes)):
            raise ValueError(f"lengthscale must be a number or a 1-D array of numbers, got {self.lengthscale!r}")
        try:
            ls = np.atleast_1d(np.asarray(self.lengthscale))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"lengthscale must be a number or a 1-D array of numbers, got {self.lengthscale!r}") from exc
        if ls.ndim != 1 or ls.size == 0:
            raise ValueError(f"lengthscale must be a number or a non-empty 1-D array, got shape {ls.shape}")
        if ls.dtype.kind not in "fiu" or ls.dtype == np.bool_:
            raise ValueError(f"lengthscale must contain real numbers, got {self.lengthscale!r}")
        ls = ls.astype(np.float64)
        if not np.all(np.isfinite(ls)) or np.any(ls <= 0):
            raise ValueError(f"lengthscale must be finite and > 0, got {self.lengthscale!r}")
        if isinstance(self.variance, (bool, np.bool_, str, bytes)):
            raise ValueError(f"variance must be a number, got {self.variance!r}")
        try:
            variance = float(self.variance)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"variance must be a number, got {self.variance!r}") from exc
        # The core's limit: above it the product of two residual variances (rho's normaliser)
        # overflows. Checked here too so that a bad kernel fails where it is made.
        if not math.isfinite(variance) or variance <= 0 or variance > _core.MAX_KERNEL_VARIANCE:
            raise ValueError(f"variance must be > 0 and at most {_core.MAX_KERNEL_VARIANCE:g}, got {self.variance!r}")
        object.__setattr__(self, "variance", variance)
        object.__setattr__(self, "lengthscale", float(ls[0]) if ls.size == 1 else tuple(float(v) for v in ls))

    @property
    def lengthscales(self) -> np.ndarray:
        """Lengthscale as a float64 array (length 1 or one per dimension)."""
        return np.atleast_1d(np.asarray(self.lengthscale, dtype=np.float64))


@dataclass(frozen=True)
class RBF(Kernel):
    """Squared exponential: variance * exp(-r^2 / 2)."""

    name: ClassVar[str] = "rbf"


@dataclass(frozen=True)
class Matern12(Kernel):
    """Matérn 1/2 (exponential): variance * exp(-r)."""

    name: ClassVar[str] = "matern12"


@dataclass(frozen=True)
class Matern32(Kernel):
    """Matérn 3/2: variance * (1 + sqrt(3) r) exp(-sqrt(3) r)."""

    name: ClassVar[str] = "matern32"


@dataclass(frozen=True)
class Matern52(Kernel):
    """Matérn 5/2: variance * (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r)."""

    name: ClassVar[str] = "matern52"


_BY_NAME = {cls.name: cls for cls in (RBF, Matern12, Matern32, Matern52)}
KERNEL_NAMES = tuple(_BY_NAME)


def kernel_from_name(name: str, lengthscale: Lengthscale = 1.0, variance: float = 1.0) -> Kernel:
    """Kernel by name: 'rbf', 'matern12', 'matern32' or 'matern52'."""
    if not isinstance(name, str):
        raise ValueError(f"kernel name must be a string, one of {sorted(_BY_NAME)}; got {name!r}")
    key = name.lower().replace("/", "").replace("_", "")
    if key not in _BY_NAME:
        raise ValueError(f"unknown kernel {name!r}; expected one of {sorted(_BY_NAME)}")
    return _BY_NAME[key](lengthscale, variance)
