"""Input conversion: accept any real dtype and any memory layout, name the argument on error.

Arrays are converted to float64/int64 only when needed; strided and Fortran-ordered arrays
are passed to C++ as views (the core copies what it keeps into its own layout).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._core import MAX_THREADS  # the core's limit (include/pcct/core/threads.hpp)


def _as_array(x, name: str, expected: str = "array-like") -> np.ndarray:
    if isinstance(x, np.ma.MaskedArray):  # np.asarray would drop the mask: masked values would count
        raise ValueError(f"{name} is a masked array: fill or drop the masked values first")
    try:
        a = np.asarray(x)
    except Exception as exc:  # e.g. ragged nested lists; numpy raises many types
        raise ValueError(f"{name} must be {expected}: {exc}") from exc
    if a.itemsize and any(stride % a.itemsize for stride in a.strides):
        # e.g. a field of a packed record array (25-byte rows): the core takes strides in
        # elements, so such a view is copied.
        a = np.ascontiguousarray(a)
    return a


def _check_exact_in_float64(a: np.ndarray, name: str) -> None:
    """Integers that float64 cannot hold (some beyond 2^53) would be rounded by the conversion
    (pcct computes in float64): an error, not a silently different answer; converting is the
    caller's choice."""
    if a.dtype.kind in "iu" and a.dtype.itemsize > 4 and a.size:
        big = (a > 2**53) | (a < -(2**53)) if a.dtype.kind == "i" else (a > 2**53)
        if big.any():
            values = a[big]
            with np.errstate(invalid="ignore"):  # 2^63 or 2^64 after rounding: out of range, so inexact
                back = values.astype(np.float64).astype(a.dtype)
            inexact = np.flatnonzero(back != values)
            if len(inexact):
                where = ", ".join(str(int(i)) for i in np.argwhere(big)[inexact[0]])
                raise ValueError(f"{name} has an integer ({values[inexact[0]]}) at index ({where}) that float64 "
                                 "cannot hold exactly; convert to float yourself if rounding is acceptable")


def as_matrix(x, name: str, allow_empty: bool = False) -> np.ndarray:
    """A 2-D float64 array (view when already float64); 0 rows only with allow_empty."""
    a = _as_array(x, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_points, n_dims), got shape {a.shape}")
    if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
        raise ValueError(f"{name} must contain real numbers, got dtype {a.dtype}")
    _check_exact_in_float64(a, name)
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    if a.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} has no rows (N = 0)")
    if a.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    return a


def as_vector(x, name: str) -> np.ndarray:
    """A 1-D float64 array."""
    a = _as_array(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
        raise ValueError(f"{name} must contain real numbers, got dtype {a.dtype}")
    _check_exact_in_float64(a, name)
    return a.astype(np.float64, copy=False)


def as_ids(x, name: str) -> np.ndarray:
    """A 1-D int64 array of point ids."""
    a = _as_array(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of point ids, got shape {a.shape}")
    if a.size == 0 and not isinstance(x, np.ndarray):
        a = a.astype(np.int64)  # [] is an empty list of ids, whatever dtype NumPy guesses for it
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must contain integer point ids, got dtype {a.dtype}")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} contains an id larger than int64")
    return a.astype(np.int64, copy=False)


def _scalar(x):
    """A 0-d array's scalar (what NumPy reductions and indexing often return); x otherwise."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def as_positive_int(x, name: str) -> int:
    x = _scalar(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    x = int(x)
    if x <= 0:
        raise ValueError(f"{name} must be >= 1, got {x}")
    return x


def as_bool(x, name: str) -> bool:
    """True/False (also NumPy booleans and the integers 0 and 1); anything else is an error, so
    that e.g. the string "no" is not read as True."""
    x = _scalar(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (numbers.Integral, np.integer)) and int(x) in (0, 1):
        return bool(x)
    raise ValueError(f"{name} must be True or False, got {x!r}")


def as_seed(x, name: str = "seed"):
    """A non-negative integer, or None (fresh entropy: different inducing points on every call)."""
    if x is None:
        return None
    x = _scalar(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)) or int(x) < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {x!r}")
    return int(x)


def as_threads(n_threads) -> int:
    """None -> 0, which the core reads as the OpenMP default; otherwise an integer >= 1."""
    if n_threads is None:
        return 0
    n = as_positive_int(n_threads, "n_threads")
    if n > MAX_THREADS:
        raise ValueError(f"n_threads must be at most {MAX_THREADS}, got {n}")
    return n
