"""The residual model (V, p, distances) against an independent NumPy/SciPy computation."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import pcct
from oracle import EPS, kernel_matrix, residual_factors, residual_sq_distances, residual_d2_tolerance

KERNELS = ["rbf", "matern12", "matern32", "matern52"]


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("ard", [False, True])
def test_v_and_p_match_scipy(name, ard):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (300, 3))
    ls = [0.5, 1.0, 2.0] if ard else 0.8
    kernel = pcct.kernels.kernel_from_name(name, ls, 1.7)
    ind = np.sort(rng.choice(300, 30, replace=False))
    model = pcct.ResidualModel(x, kernel, inducing=ind)
    v_ref, p_ref = residual_factors(x, name, ls, 1.7, ind)
    assert model.v_matrix.shape == (300, 30)
    np.testing.assert_allclose(model.v_matrix, v_ref, rtol=0, atol=1e-11)
    # p = variance - |V|^2 cancels: compare with the rounding bound of that subtraction.
    tol = 8 * (30 + 8) * EPS * (1.7 + (v_ref * v_ref).sum(1)) + 1e-15
    assert np.all(np.abs(model.p_diag - p_ref) <= tol * 1e3)
    assert np.all(model.p_diag >= 1e-9)


def test_inducing_count_and_seed_choose_sorted_ids_like_numpy():
    x = np.random.default_rng(1).normal(size=(200, 2))
    model = pcct.ResidualModel(x, pcct.kernels.RBF(), inducing_count=20, seed=7)
    np.testing.assert_array_equal(model.inducing, np.sort(np.random.default_rng(7).choice(200, 20, replace=False)))
    small = pcct.ResidualModel(x[:50], pcct.kernels.RBF())  # default: min(512, N)
    assert small.rank == 50


def test_kernel_values_match_closed_forms_through_a_one_point_model():
    # With a single inducing point u, V_i = k(u, x_i) / sqrt(k(u, u) + jitter): this checks
    # the kernel value itself against the closed form.
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, (500, 2))
    for name in KERNELS:
        kernel = pcct.kernels.kernel_from_name(name, [0.7, 1.3], 2.0)
        model = pcct.ResidualModel(x, kernel, inducing=[0])
        k0 = kernel_matrix(name, [0.7, 1.3], 2.0, x[:1], x)[0]
        got = model.v_matrix[:, 0] * np.sqrt(2.0 * (1 + 1e-6))
        # exp(-f(r)) has condition number ~f(r): rounding of r^2 is amplified for tiny values.
        r2 = (((x - x[0]) / [0.7, 1.3]) ** 2).sum(1)
        assert np.all(np.abs(got - k0) <= (16 + 4 * r2) * EPS * k0 + 1e-300)


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(KERNELS), m=st.integers(1, 25),
       n=st.integers(2, 120), spread=st.sampled_from([0.05, 1.0, 4.0]))
def test_distances_match_the_formula(seed, name, m, n, spread):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, spread, (n, 2))
    m = min(m, n)
    kernel = pcct.kernels.kernel_from_name(name, 1.0, 1.3)
    model = pcct.ResidualModel(x, kernel, inducing_count=m, seed=seed % 1000)
    v, p = model.v_matrix, model.p_diag
    rows = np.arange(n)
    d = model.distances(rows, rows)
    d2_ref = residual_sq_distances(x, name, 1.0, 1.3, v, p, rows, rows)
    tol = residual_d2_tolerance(v, p, 1.3, rows, rows)
    assert np.all(np.abs(d * d - d2_ref) <= tol)
    assert np.all(np.diag(d) == 0) and np.all((d >= 0) & (d <= 1))
    assert np.array_equal(d, d.T)


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(KERNELS))
def test_triangle_inequality_on_random_triples(seed, name):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (150, 3))
    model = pcct.ResidualModel(x, pcct.kernels.kernel_from_name(name, 0.9, 1.0), inducing_count=15, seed=1)
    d = model.distances(np.arange(150), np.arange(150))
    a, b, c = rng.integers(0, 150, (3, 4000))
    assert np.all(d[a, c] <= d[a, b] + d[b, c] + 1e-12)


def test_from_factors_uses_the_given_v_and_p():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 2))
    base = pcct.ResidualModel(x, pcct.kernels.Matern52(0.5), inducing_count=10, seed=3)
    v = np.asfortranarray(base.v_matrix)           # Fortran order is accepted
    p = base.p_diag[::-1].copy()[::-1]              # a negative-stride view
    fact = pcct.ResidualModel.from_factors(x, pcct.kernels.Matern52(0.5), v_matrix=v, p_diag=p)
    assert fact.rank == 10 and len(fact.inducing) == 0
    ids = np.arange(100)
    np.testing.assert_array_equal(fact.distances(ids, ids), base.distances(ids, ids))


@pytest.mark.parametrize("variance", [1e-6, 1e-4])
def test_the_floor_on_p_is_reached_and_applied(variance):
    # Small variances drive K_ii - |V_i|^2 below the floor 1e-9 for the points the inducing
    # points explain well: p must be exactly 1e-9 there (max, not a replacement of 0 alone),
    # and the neighbours must be those of the floored p.
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (400, 2))
    ind = np.sort(rng.choice(400, 25, replace=False))
    kernel = pcct.kernels.RBF(1.0, variance)
    model = pcct.ResidualModel(x, kernel, inducing=ind)
    v_ref, p_ref = residual_factors(x, "rbf", 1.0, variance, ind)
    floored = p_ref == 1e-9
    assert floored.sum() >= 20 and (~floored).sum() >= 20, floored.sum()  # both regimes present
    assert np.all(model.p_diag[floored] == 1e-9)
    raw = variance - (model.v_matrix * model.v_matrix).sum(1)  # in NumPy's order of summation
    tol = 8 * (25 + 8) * EPS * 2 * variance
    assert np.all(model.p_diag[raw < 1e-9 - tol] == 1e-9)
    np.testing.assert_allclose(model.p_diag[raw > 1e-9 + tol], raw[raw > 1e-9 + tol], rtol=0, atol=tol)
    v, p = model.v_matrix, model.p_diag
    rows = np.arange(400)
    d2 = residual_sq_distances(x, "rbf", 1.0, variance, v, p, rows, rows)
    from oracle import assert_knn_matches
    for pred in (False, True):
        ids, dist = pcct.cover_tree(model, algorithm="scan").knn(8, predecessor_mode=pred)
        assert_knn_matches(ids, dist, d2, residual_d2_tolerance(v, p, variance, rows, rows), rows, 8, pred)


@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["gaussian", "clusters", "duplicates", "line", "grid"]),
       name=st.sampled_from(KERNELS), lengthscale=st.sampled_from([0.05, 0.5, 3.0]),
       variance=st.sampled_from([1e-6, 1.0, 1e6]), m=st.integers(1, 80))
def test_valid_user_factors_pass_the_metric_check(seed, shape, name, lengthscale, variance, m):
    # The pair check (|rho_ij| <= 1 for rows close in Morton order) must never refuse factors
    # that are a residual model: pcct's own, or SciPy's (rounded differently), p floored or not.
    from workloads import make_points
    rng = np.random.default_rng(seed)
    x = make_points(rng, shape, 400, int(rng.integers(1, 4)))
    kernel = pcct.kernels.kernel_from_name(name, lengthscale, variance)
    ind = np.sort(rng.choice(400, m, replace=False))
    own = pcct.ResidualModel(x, kernel, inducing=ind)
    try:
        v_ref, p_ref = residual_factors(x, name, lengthscale, variance, ind)
    except np.linalg.LinAlgError:  # SciPy's Cholesky gave up on an ill-conditioned K(U, U)
        v_ref, p_ref = own.v_matrix, own.p_diag
    for v, p in ((own.v_matrix, own.p_diag), (v_ref, p_ref), (own.v_matrix, own.p_diag * 1.5)):
        model = pcct.ResidualModel.from_factors(x, kernel, v_matrix=v, p_diag=p)
        assert model._core.metric_problem() == ""
