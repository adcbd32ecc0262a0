"""Exact k-NN indexes: ``cover_tree(...)`` (the product) and ``brute_force_knn(...)`` (the oracle)."""
from __future__ import annotations

import warnings

import numpy as np

from . import _core
from ._arrays import _as_array, as_bool, as_ids, as_matrix, as_positive_int, as_threads, as_vector
from .kernels import Kernel
from .model import ResidualModel

__all__ = ["KnnIndex", "cover_tree", "brute_force_knn"]

ALGORITHMS = ("auto", "tree", "scan", "kdtree", "brute")
# "auto" for the Euclidean metric: the kd-tree up to this dimension, the brute force above it
# (measured at N = 32,768, k = 8: the kd-tree is ~3x faster than the brute force at D = 8 and
# slower from D = 12 on; BENCHMARKS.md).
KDTREE_MAX_DIM = 10


def _parse_queries(queries):
    """None -> all points; 1-D integers -> point ids; 2-D numbers -> new coordinates.

    No queries (``[]``, or coordinates with 0 rows) give an empty (0, k) answer, as for any
    other batch size; the shape and mode are still checked, so a batch loop behaves the same
    on its last, possibly empty, batch."""
    if queries is None:
        return "all", None, None
    a = _as_array(queries, "queries", "None, a 1-D array of point ids or a 2-D array of coordinates")
    if a.ndim == 1:
        if a.size == 0:
            return "ids", np.zeros(0, dtype=np.int64), None
        if a.dtype.kind == "f":  # most likely one new location, not ids
            raise ValueError(f"queries: a 1-D array is a list of point ids, got dtype {a.dtype}; give new "
                             "coordinates as a 2-D array (n_queries, n_dims), e.g. x[None, :] for one point")
        return "ids", as_ids(a, "queries"), None
    if a.ndim == 2:
        return "coords", None, as_matrix(a, "queries", allow_empty=True)  # the core checks width and mode
    raise ValueError(f"queries must be None, a 1-D array of point ids or a 2-D array of coordinates, got shape {a.shape}")


class KnnIndex:
    """An exact k-nearest-neighbour index over a fixed set of points.

    ``knn`` returns ids (int64, Q x k) and distances (float64, Q x k), rows sorted by
    distance with ties broken by the smaller id, padded with -1 / +inf where fewer than k
    points are admissible (predecessor mode).
    """

    def __init__(self, core, *, model=None, n_threads=None):
        self._core = core
        self._model = model
        self._n_threads = as_threads(n_threads)
        self.last_stats: dict | None = None

    @property
    def n_points(self) -> int:
        return self._core.size

    @property
    def metric(self) -> str:
        return self._core.metric

    @property
    def algorithm(self) -> str:
        return self._core.algorithm

    @property
    def model(self) -> ResidualModel | None:
        return self._model

    @property
    def build_info(self) -> dict:
        """Construction counters and the per-level profile of a cover-tree index."""
        if not self._core.has_build_info:
            raise ValueError(f"build_info needs a cover-tree index (this one uses algorithm={self.algorithm!r})")
        return self._core.build_info()

    def validate(self, n_threads=None) -> dict:
        """Checks every cover-tree invariant and stored bound exactly; raises AssertionError
        listing the problems if any fails, else returns a summary."""
        self._require_tree("validate")
        report = self._core.validate(as_threads(n_threads) if n_threads is not None else self._n_threads)
        if not report["ok"]:
            raise AssertionError("cover tree invalid:\n  " + "\n  ".join(report["problems"]))
        return report

    def insert(self, points, v_matrix=None, p_diag=None, n_threads=None) -> None:
        """Appends points (their ids continue from n_points). For a residual index built from
        user factors, give their rows of V and p as v_matrix and p_diag (an index built from
        inducing points computes them). ``model`` keeps describing the original points. No
        points (0 rows) is a no-op."""
        self._require_tree("insert")
        threads = as_threads(n_threads) if n_threads is not None else self._n_threads
        # 0 rows (a batch loop's empty last batch): the core checks them as any batch, then
        # does nothing.
        pts = as_matrix(points, "points", allow_empty=True)
        v = None if v_matrix is None else as_matrix(v_matrix, "v_matrix", allow_empty=True)
        p = None if p_diag is None else as_vector(p_diag, "p_diag")
        self._core.insert(pts, v, p, threads)

    def _require_tree(self, what: str) -> None:
        if not self._core.is_tree:
            raise ValueError(f"{what} needs a tree index (this one uses algorithm={self.algorithm!r})")

    def knn(self, k=50, queries=None, predecessor_mode=False, return_distances=True, n_threads=None):
        """Exact k nearest neighbours.

        queries: None (every point), a 1-D array of point ids, or a 2-D array of new
        coordinates. predecessor_mode: query id i only returns ids j < i.
        """
        k = as_positive_int(k, "k")
        if k > self.n_points:  # also keeps k within the core's integer type
            raise ValueError(f"k ({k}) exceeds the number of points ({self.n_points})")
        predecessor_mode = as_bool(predecessor_mode, "predecessor_mode")
        return_distances = as_bool(return_distances, "return_distances")
        kind, ids, coords = _parse_queries(queries)
        threads = self._n_threads if n_threads is None else as_threads(n_threads)
        out_ids, out_dist, stats = self._core.knn(kind, ids, coords, k, predecessor_mode, threads)
        self.last_stats = stats
        return (out_ids, out_dist) if return_distances else out_ids

    def __repr__(self) -> str:
        return f"KnnIndex(n_points={self.n_points}, metric={self.metric!r}, algorithm={self.algorithm!r})"


def _residual_model(coords, kernel, v_matrix, p_diag, inducing_count, inducing, seed, n_threads):
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a pcct.kernels kernel (RBF, Matern12, ...), got {kernel!r}")
    if (v_matrix is None) != (p_diag is None):
        raise ValueError("v_matrix and p_diag must be given together")
    if v_matrix is not None:
        if inducing is not None or inducing_count is not None:
            raise ValueError("give either user factors (v_matrix, p_diag) or inducing points, not both")
        return ResidualModel.from_factors(coords, kernel, v_matrix=v_matrix, p_diag=p_diag)
    return ResidualModel(coords, kernel, inducing_count=inducing_count, inducing=inducing, seed=seed,
                         n_threads=n_threads)


def cover_tree(coords, kernel=None, *, v_matrix=None, p_diag=None, inducing_count=None, inducing=None,
               seed=0, algorithm="auto", n_threads=None, base=2.0) -> KnnIndex:
    """Builds an exact k-NN index (covertreex-compatible factory).

    No kernel: Euclidean metric on ``coords``. A kernel: residual-correlation metric with V
    from ``inducing_count`` random points (``seed``; default min(512, N)) or the explicit id
    array ``inducing``. A kernel plus ``v_matrix``/``p_diag``: the caller's factors (K still
    from the kernel). ``coords`` may also be a ``ResidualModel``.

    algorithm: "tree" (cover tree, queries walk it), "scan" (cover tree, queries scan its top
    levels in dense tiles: faster on the residual metric of the gold workload), "kdtree"
    (kd-tree, Euclidean only), "brute" (brute force), or "auto": Euclidean uses the kd-tree up
    to dimension 10 and the brute force above; the residual metric uses the cover tree, and a
    sample of each call decides which queries go to the walk, the scan or the brute force
    (e.g. the early ids in predecessor mode go to the brute force; docs/tree.md, "auto").
    Every algorithm is exact and returns the same answer.
    ``base`` is the cover-tree level ratio (>= 1.01).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    try:
        base_value = float("nan") if isinstance(base, (str, bytes, bool, np.bool_)) else float(base)
    except (TypeError, ValueError):
        base_value = float("nan")
    if not 1.01 <= base_value < float("inf"):  # also rejects NaN
        raise ValueError(f"base must be a finite number >= 1.01, got {base!r}")
    base = base_value
    threads = as_threads(n_threads)
    if isinstance(coords, ResidualModel):
        if kernel is not None or v_matrix is not None or p_diag is not None or inducing is not None \
                or inducing_count is not None:
            raise ValueError("coords is a ResidualModel already: do not also give kernel, v_matrix, p_diag, "
                             "inducing or inducing_count")
        model = coords
    elif kernel is None:
        if v_matrix is not None or p_diag is not None or inducing is not None or inducing_count is not None:
            raise ValueError("v_matrix, p_diag, inducing and inducing_count need a kernel")
        x = as_matrix(coords, "coords")
        if algorithm == "auto":
            algorithm = "kdtree" if x.shape[1] <= KDTREE_MAX_DIM else "brute"
        if algorithm == "brute":
            return KnnIndex(_core.brute_force_euclidean(x), n_threads=n_threads)
        if algorithm == "kdtree":
            return KnnIndex(_core.kd_tree_euclidean(x), n_threads=n_threads)
        return KnnIndex(_core.cover_tree_euclidean(x, base, threads, algorithm), n_threads=n_threads)
    else:
        model = _residual_model(coords, kernel, v_matrix, p_diag, inducing_count, inducing, seed, n_threads)
    if algorithm == "kdtree":
        raise ValueError("algorithm='kdtree' is for the Euclidean metric (no kernel)")
    if algorithm == "auto":
        problem = model._core.metric_problem()
        if problem:
            warnings.warn(f"these factors do not define a metric ({problem}); using the brute force", stacklevel=2)
            algorithm = "brute"
    if algorithm == "brute":
        return KnnIndex(_core.brute_force_residual(model._core), model=model, n_threads=n_threads)
    return KnnIndex(_core.cover_tree_residual(model._core, base, threads, algorithm), model=model,
                    n_threads=n_threads)


def brute_force_knn(data, k, queries=None, predecessor_mode=False, return_distances=True, n_threads=None):
    """Exact brute-force k-NN: residual correlation if ``data`` is a ResidualModel, else
    Euclidean on the coordinates ``data``."""
    if isinstance(data, ResidualModel):
        core = _core.brute_force_residual(data._core)
    else:
        core = _core.brute_force_euclidean(as_matrix(data, "coords"))
    return KnnIndex(core, n_threads=n_threads).knn(k, queries, predecessor_mode, return_distances)
