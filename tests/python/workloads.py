"""Hypothesis strategies for k-NN workloads (shapes, degenerate data, layouts)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import pcct
from oracle import (euclidean_d2_tolerance, euclidean_sq_distances, residual_d2_tolerance,
                    residual_sq_distances)

SHAPES = ["gaussian", "clusters", "duplicates", "line", "identical", "grid"]
KERNELS = ["rbf", "matern12", "matern32", "matern52"]


def make_points(rng, shape, n, dim):
    if shape == "gaussian":
        return rng.normal(0, 1, (n, dim))
    if shape == "clusters":
        centres = rng.normal(0, 3, (max(1, n // 20), dim))
        return centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.05, (n, dim))
    if shape == "duplicates":
        base = rng.normal(0, 1, (max(1, n // 4), dim))
        return base[rng.integers(0, len(base), n)]
    if shape == "line":
        return np.outer(rng.uniform(-2, 2, n), rng.normal(size=dim))
    if shape == "identical":
        return np.tile(rng.normal(size=(1, dim)), (n, 1))
    if shape == "grid":  # many exact distance ties
        return rng.integers(-2, 3, (n, dim)).astype(np.float64)
    raise ValueError(shape)


def relayout(x, layout):
    """The same values as float32 / Fortran / strided arrays (what users pass)."""
    if layout == "float32":
        return x.astype(np.float32)
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "strided":
        wide = np.zeros((x.shape[0], 2 * x.shape[1]))
        wide[:, ::2] = x
        return wide[:, ::2]
    return x


@dataclass
class Workload:
    x: np.ndarray          # float64 values the index sees
    x_input: np.ndarray    # what is passed to pcct
    metric: str
    kernel: object = None
    model: object = None

    def data(self):
        return self.model if self.metric == "residual" else self.x_input

    def sq_distances(self, rows=None, qx=None):
        """Reference d^2 for dataset queries `rows` or new points `qx`, and its tolerance."""
        if self.metric == "euclidean":
            q = self.x[rows] if qx is None else qx
            return euclidean_sq_distances(q, self.x), euclidean_d2_tolerance(q, self.x)
        v, p = self.model.v_matrix, self.model.p_diag
        k = self.kernel
        cols = np.arange(len(self.x))
        if qx is None:
            d2 = residual_sq_distances(self.x, k.name, k.lengthscales, k.variance, v, p, rows, cols)
            return d2, residual_d2_tolerance(v, p, k.variance, rows, cols)
        # New points: their V rows and p from a model over data and queries with the same
        # inducing points (V rows do not depend on the batch: checked here for the data rows;
        # V itself is checked against SciPy in test_model.py), then the oracle's distances.
        both = np.vstack([self.x, np.asarray(qx, dtype=np.float64)])
        joint = pcct.ResidualModel(both, k, inducing=self.model.inducing)
        jv, jp = joint.v_matrix, joint.p_diag
        assert np.array_equal(jv[:len(cols)], v) and np.array_equal(jp[:len(cols)], p)
        q_rows = np.arange(len(cols), len(both))
        d2 = residual_sq_distances(both, k.name, k.lengthscales, k.variance, jv, jp, q_rows, cols, same_ids=False)
        return d2, residual_d2_tolerance(jv, jp, k.variance, q_rows, cols)


@st.composite
def workloads(draw, metric=None, max_n=150):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    metric = metric or draw(st.sampled_from(["euclidean", "residual"]))
    n = draw(st.integers(1, max_n))
    dim = draw(st.sampled_from([1, 2, 3, 32] if metric == "euclidean" else [1, 2, 3]))
    shape = draw(st.sampled_from(SHAPES))
    layout = draw(st.sampled_from(["c", "float32", "fortran", "strided"]))
    x_input = relayout(make_points(rng, shape, n, dim), layout)
    x = np.asarray(x_input, dtype=np.float64)
    if metric == "euclidean":
        return Workload(x, x_input, metric)
    name = draw(st.sampled_from(KERNELS))
    kernel = pcct.kernels.kernel_from_name(name, draw(st.sampled_from([0.3, 1.0, 2.5])),
                                           draw(st.sampled_from([0.5, 1.0, 3.0])))
    m = draw(st.integers(1, min(n, 30)))
    model = pcct.ResidualModel(x_input, kernel, inducing_count=m, seed=seed % 997)
    return Workload(x, x_input, metric, kernel, model)
