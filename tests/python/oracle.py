"""Independent NumPy/SciPy reference implementations used by the tests (no pcct code)."""
from __future__ import annotations

import numpy as np
import scipy.linalg

EPS = np.finfo(np.float64).eps


def kernel_matrix(name: str, lengthscale, variance: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ls = np.atleast_1d(np.asarray(lengthscale, dtype=np.float64))
    diff = (a[:, None, :] - b[None, :, :]) / ls
    r = np.sqrt((diff * diff).sum(-1))
    if name == "rbf":
        f = np.exp(-0.5 * r * r)
    elif name == "matern12":
        f = np.exp(-r)
    elif name == "matern32":
        s = np.sqrt(3.0) * r
        f = (1 + s) * np.exp(-s)
    elif name == "matern52":
        s = np.sqrt(5.0) * r
        f = (1 + s + s * s / 3) * np.exp(-s)
    else:
        raise ValueError(name)
    return variance * f


def residual_factors(x, name, lengthscale, variance, inducing):
    """V = L^-1 K(U, X), K(U, U) + 1e-6 variance I = L L^T, p = max(K_ii - |V_i|^2, 1e-9)."""
    u = x[inducing]
    kuu = kernel_matrix(name, lengthscale, variance, u, u) + 1e-6 * variance * np.eye(len(inducing))
    chol = scipy.linalg.cholesky(kuu, lower=True)
    v = scipy.linalg.solve_triangular(chol, kernel_matrix(name, lengthscale, variance, u, x), lower=True).T
    p = np.maximum(variance - (v * v).sum(1), 1e-9)
    return v, p


def residual_sq_distances(x, name, lengthscale, variance, v, p, rows, cols, same_ids=True):
    """d^2 = 1 - min(|rho|, 1) between x[rows] and x[cols]; 0 where the ids coincide."""
    k = kernel_matrix(name, lengthscale, variance, x[rows], x[cols])
    rho = (k - v[rows] @ v[cols].T) / np.sqrt(np.outer(p[rows], p[cols]))
    d2 = 1.0 - np.minimum(np.abs(rho), 1.0)
    if same_ids:
        d2[np.asarray(rows)[:, None] == np.asarray(cols)[None, :]] = 0.0
    return d2


def residual_d2_tolerance(v, p, variance, rows, cols):
    """Bound on |d^2_pcct - d^2_numpy|: rounding of K - V.V (both implementations) relative
    to sqrt(p_i p_j). This is why residual distances of two float64 codes differ by ~1e-9
    when p ~ 1e-6 (the gold regime) and why the tests compare d^2 with this tolerance."""
    m = v.shape[1]
    vn = np.sqrt((v * v).sum(1))
    scale = np.outer(vn[rows], vn[cols]) + variance
    return 8 * (m + 16) * EPS * scale / np.sqrt(np.outer(p[rows], p[cols])) + 1e-13


def euclidean_sq_distances(qx, x):
    diff = qx[:, None, :] - x[None, :, :]
    return (diff * diff).sum(-1)


TINY = 2.0**-1074  # the smallest subnormal: the absolute rounding unit below ~2.2e-308


def euclidean_d2_tolerance(qx, x):
    """Relative rounding of the (dim + 4)-term sum, plus an absolute term for subnormal squares
    (each rounds to within TINY / 2, however small); no looser, so that flushing subnormals to
    zero (what -ffast-math or FTZ/DAZ would do) is caught."""
    dim = x.shape[1]
    mag = (qx * qx).sum(1)[:, None] + (x * x).sum(1)[None, :]
    return 4 * (dim + 4) * (EPS * mag + TINY)


def admissible_ids(n, qid, predecessor):
    """Every id, or in predecessor mode the ids j < qid."""
    return np.arange(n) if not predecessor else np.arange(min(qid, n))


def knn_from_sq_distances(d2, qids, k, predecessor):
    """Sorted by (d, id); ids j >= qids[q] excluded in predecessor mode; padded -1 / +inf."""
    nq, n = d2.shape
    ids = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf)
    for q in range(nq):
        cand = admissible_ids(n, qids[q], predecessor)
        order = np.lexsort((cand, d2[q, cand]))[:k]
        ids[q, :len(order)] = cand[order]
        dist[q, :len(order)] = np.sqrt(d2[q, cand[order]])
    return ids, dist


def assert_knn_matches(ids, dist, d2_ref, tol2, qids, k, predecessor):
    """ids/dist (from pcct) equal the exact answer up to ties within rounding noise.

    For each query: rows are sorted by (distance, id); every returned id is admissible and
    unique, its returned distance agrees with the reference distance of that id, no id left
    out is closer than a returned one beyond the rounding of the two, and padding matches.
    """
    ids = np.asarray(ids)
    dist = np.asarray(dist)
    assert ids.shape == dist.shape == (len(qids), k)
    n = d2_ref.shape[1]
    for q in range(len(qids)):
        admissible = admissible_ids(n, qids[q], predecessor)
        n_valid = min(k, len(admissible))
        row_ids, row_d = ids[q], dist[q]
        assert np.all(row_ids[n_valid:] == -1) and np.all(np.isinf(row_d[n_valid:])), f"query {q}: padding"
        got = row_ids[:n_valid]
        gd = row_d[:n_valid]
        assert np.all(got >= 0) and len(set(got.tolist())) == n_valid, f"query {q}: ids {got}"
        if predecessor:
            assert np.all(got < qids[q]), f"query {q}: non-predecessor id"
        assert np.all(np.diff(gd) >= 0), f"query {q}: distances not sorted"
        ties = np.diff(gd) == 0
        assert np.all(np.diff(got)[ties] > 0), f"query {q}: exact ties not ordered by id"
        if n_valid == 0:
            continue
        assert np.all(np.abs(gd * gd - d2_ref[q, got]) <= tol2_at(tol2, q, got)), f"query {q}: distance mismatch"
        # Per pair: no id left out may be surely closer than a returned one (each distance
        # within its own rounding tolerance), so only near-exact ties may be exchanged.
        rest = np.setdiff1d(admissible, got)
        if len(rest):
            worst_returned = np.max(d2_ref[q, got] - tol2_at(tol2, q, got))
            best_left_out = np.min(d2_ref[q, rest] + tol2_at(tol2, q, rest))
            assert worst_returned <= best_left_out, f"query {q}: a closer id was left out"


def tol2_at(tol2, q, cols):
    return tol2[q, cols] if np.ndim(tol2) == 2 else tol2
