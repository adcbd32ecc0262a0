"""Every bad input gets a clear error naming the problem (never a crash or a wrong answer)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pcct

X = np.random.default_rng(0).normal(size=(50, 3))
RBF = pcct.kernels.RBF()


def raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates(bad):
    x = X.copy()
    x[7, 1] = bad
    raises(ValueError, "coords contains a non-finite value .* row 7, column 1", pcct.ResidualModel, x, RBF)
    raises(ValueError, "coords contains a non-finite", pcct.brute_force_knn, x, 3)
    raises(ValueError, "coords contains a non-finite", pcct.cover_tree, x)


def test_non_finite_factors():
    v = np.ones((50, 4))
    p = np.ones(50)
    v[3, 2] = np.nan
    raises(ValueError, "v_matrix contains a non-finite", pcct.ResidualModel.from_factors, X, RBF, v_matrix=v, p_diag=p)
    v[3, 2] = 1
    p[9] = np.inf
    raises(ValueError, "p_diag must be finite and within \\[1e-150, 1e150\\]", pcct.ResidualModel.from_factors, X,
           RBF, v_matrix=v, p_diag=p)
    # Finite but so large that V_i . V_j or p_i p_j overflows: every distance would be 0 or 1.
    p[9] = 1
    raises(ValueError, "v_matrix has a value too large", pcct.ResidualModel.from_factors, X, RBF, v_matrix=v * 1e200,
           p_diag=p)
    raises(ValueError, "p_diag must be finite and within", pcct.ResidualModel.from_factors, X, RBF, v_matrix=v,
           p_diag=p * 1e200)


# 1e-200: p_i p_j would underflow to 0 and every distance would silently be 0 (1e200: inf).
@pytest.mark.parametrize("p_bad", [0.0, -1e-3, 1e-200, 1e200])
def test_p_diag_not_positive(p_bad):
    p = np.ones(50)
    p[4] = p_bad
    raises(ValueError, "p_diag must be finite and within .*index 4", pcct.cover_tree, X, RBF,
           v_matrix=np.ones((50, 2)), p_diag=p)


def test_shape_mismatches():
    raises(ValueError, "v_matrix has 49 rows", pcct.ResidualModel.from_factors, X, RBF,
           v_matrix=np.ones((49, 2)), p_diag=np.ones(50))
    raises(ValueError, "p_diag has 40 entries", pcct.ResidualModel.from_factors, X, RBF,
           v_matrix=np.ones((50, 2)), p_diag=np.ones(40))
    raises(ValueError, "v_matrix must be a 2-D", pcct.ResidualModel.from_factors, X, RBF,
           v_matrix=np.ones(50), p_diag=np.ones(50))
    raises(ValueError, "coords must be a 2-D", pcct.brute_force_knn, np.ones(5), 1)
    raises(ValueError, "queries have 2 columns", pcct.brute_force_knn, X, 1, queries=np.ones((3, 2)))
    raises(ValueError, "kernel lengthscale has 2 values but the coordinates have 3", pcct.ResidualModel, X,
           pcct.kernels.RBF([1.0, 2.0]))
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    raises(ValueError, "queries have 2 columns", pcct.brute_force_knn, model, 1, queries=np.ones((3, 2)))


def test_empty_inputs():
    raises(ValueError, "N = 0", pcct.brute_force_knn, np.zeros((0, 3)), 1)
    raises(ValueError, "N = 0", pcct.ResidualModel, np.zeros((0, 3)), RBF)
    raises(ValueError, "no columns", pcct.brute_force_knn, np.zeros((4, 0)), 1)


@pytest.mark.parametrize("k", [0, -3, 51])
def test_k_out_of_range(k):
    match = r"k must be >= 1" if k < 1 else r"k \(51\) exceeds the number of points \(50\)"
    raises(ValueError, match, pcct.brute_force_knn, X, k)
    raises(ValueError, match, pcct.cover_tree(X).knn, k)


def test_k_not_an_integer():
    raises(ValueError, "k must be an integer", pcct.brute_force_knn, X, 2.5)
    raises(ValueError, "k must be an integer", pcct.brute_force_knn, X, True)


@pytest.mark.parametrize("kw,match", [
    ({"lengthscale": 0.0}, "lengthscale must be finite and > 0"),
    ({"lengthscale": -1.0}, "lengthscale must be finite and > 0"),
    ({"lengthscale": [1.0, np.nan]}, "lengthscale must be finite and > 0"),
    ({"variance": 0.0}, "variance must be > 0 and at most 1e\\+150"),
    ({"variance": -2.0}, "variance must be > 0 and at most 1e\\+150"),
    ({"variance": np.inf}, "variance must be > 0 and at most 1e\\+150"),
    ({"variance": 1e151}, "variance must be > 0 and at most 1e\\+150"),
    ({"variance": "2"}, "variance must be a number"),
    ({"variance": True}, "variance must be a number"),
    ({"lengthscale": "1"}, "lengthscale must be a number"),
    ({"lengthscale": True}, "lengthscale must contain real numbers"),
    ({"lengthscale": [1.0, "a"]}, "lengthscale must contain real numbers"),
    ({"lengthscale": [[1.0, 2.0]]}, "non-empty 1-D array"),
])
def test_bad_kernel_parameters(kw, match):
    raises(ValueError, match, pcct.kernels.Matern32, **kw)


def test_kernels_store_normalised_parameters_and_compare_by_value():
    k = pcct.kernels.RBF(np.array([1, 2]), np.float32(2))
    assert k.lengthscale == (1.0, 2.0) and type(k.variance) is float and k.variance == 2.0
    assert k == pcct.kernels.RBF([1.0, 2.0], 2) and hash(k) == hash(pcct.kernels.RBF((1, 2), 2.0))
    assert pcct.kernels.RBF([0.5]).lengthscale == 0.5 == pcct.kernels.RBF(0.5).lengthscale
    assert pcct.kernels.RBF(1.0) != pcct.kernels.Matern32(1.0)
    assert k.lengthscales.dtype == np.float64 and k.lengthscales.tolist() == [1.0, 2.0]


def test_largest_variance_keeps_the_answer_of_variance_one():
    # rho does not depend on the variance; at the largest accepted one (1e150) the residual
    # variances' product must not overflow into rho = 0 (every distance 1).
    x = np.random.default_rng(0).normal(size=(100, 2))
    want = pcct.cover_tree(x, pcct.kernels.RBF(1.0, 1.0), inducing_count=10, seed=0).knn(3, queries=[50, 7])
    for algorithm in ("tree", "scan", "brute"):
        got = pcct.cover_tree(x, pcct.kernels.RBF(1.0, 1e150), inducing_count=10, seed=0,
                              algorithm=algorithm).knn(3, queries=[50, 7])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-6)


def test_inducing_count_out_of_range():
    raises(ValueError, "inducing_count \\(51\\) exceeds the number of points \\(50\\)", pcct.ResidualModel, X, RBF,
           inducing_count=51)
    raises(ValueError, "inducing_count must be >= 1", pcct.ResidualModel, X, RBF, inducing_count=0)
    raises(ValueError, "inducing_count must be >= 1", pcct.cover_tree, X, RBF, inducing_count=-5)
    raises(IndexError, "inducing id 50 .* out of range", pcct.ResidualModel, X, RBF, inducing=[1, 50])
    raises(ValueError, "more than once", pcct.ResidualModel, X, RBF, inducing=[1, 1])
    raises(ValueError, "integer point ids", pcct.ResidualModel, X, RBF, inducing=[1.0, 2.0])


def test_query_ids_out_of_range():
    raises(IndexError, "query id 50 at position 1 is out of range", pcct.brute_force_knn, X, 2, queries=[3, 50])
    raises(IndexError, "query id -1", pcct.brute_force_knn, X, 2, queries=[-1])
    raises(ValueError, "a 1-D array is a list of point ids, got dtype float64", pcct.brute_force_knn, X, 2,
           queries=np.array([1.0, 2.0]))


def test_predecessor_mode_with_coordinate_queries():
    raises(ValueError, "predecessor_mode needs queries given by point id", pcct.brute_force_knn, X, 2,
           queries=X[:3] + 0.1, predecessor_mode=True)


def test_coordinate_queries_on_a_factor_model():
    index = pcct.cover_tree(X, RBF, v_matrix=np.full((50, 2), 0.1), p_diag=np.ones(50))
    raises(ValueError, "need a model built from inducing points", index.knn, 3, queries=X[:2])


def test_factors_that_are_not_a_metric():
    v = np.ones((50, 2))  # |V_i|^2 = 2 > K_ii = 1: K - V V^T is not PSD
    raises(ValueError, "not positive semi-definite", pcct.cover_tree, X, RBF, v_matrix=v, p_diag=np.ones(50),
           algorithm="tree")
    with pytest.warns(UserWarning, match="using the brute force"):
        index = pcct.cover_tree(X, RBF, v_matrix=v, p_diag=np.ones(50))
    assert index.algorithm == "brute"
    v = np.full((50, 2), 0.1)
    p = np.full(50, 0.5)  # below K_ii - |V_i|^2 = 0.98: |rho| could exceed 1
    raises(ValueError, "is below K", pcct.cover_tree, X, RBF, v_matrix=v, p_diag=p, algorithm="tree")



def test_factors_with_a_pair_beyond_correlation_one_are_not_a_metric():
    # Every diagonal condition holds, but |K_ij - V_i.V_j| > sqrt(p_i p_j) for a close pair:
    # d(0, 3) = 0 while d(2, 0) != d(2, 3), and the tree answered query 2 with id 1 (a review).
    x = np.array([[2.539], [3.489], [2.885], [2.440]])
    v = np.array([[-0.14, 0.02], [0.02, -0.33], [0.00, 0.06], [0.04, -0.01]])
    p = 1.0 - (v * v).sum(1)
    model = pcct.ResidualModel.from_factors(x, RBF, v_matrix=v, p_diag=p)
    message = r"points 3 and 0: \|K\(x_i, x_j\) - V_i.V_j\| = .* exceeds sqrt\(p_i p_j\)"
    for algorithm in ("tree", "scan"):
        raises(ValueError, message, pcct.cover_tree, model, algorithm=algorithm)
    with pytest.warns(UserWarning, match="using the brute force"):
        assert pcct.cover_tree(model).algorithm == "brute"
    # The realistic slip: V and p made for another lengthscale (same variance, so every
    # diagonal condition holds); the tree then disagreed with the brute force on every query.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2))
    made_for = pcct.ResidualModel(x, pcct.kernels.RBF(1.0), inducing_count=200, seed=0)
    raises(ValueError, "are V and p made for this kernel", pcct.cover_tree, x, pcct.kernels.RBF(0.7),
           v_matrix=made_for.v_matrix, p_diag=made_for.p_diag, algorithm="scan")
    # Inserting such rows is refused too, and changes nothing.
    index = pcct.cover_tree(x[:2000], pcct.kernels.RBF(1.0), v_matrix=made_for.v_matrix[:2000],
                            p_diag=made_for.p_diag[:2000], algorithm="tree")
    other = pcct.ResidualModel(x, pcct.kernels.RBF(1.0), inducing_count=200, seed=1)  # another factorisation
    raises(ValueError, "exceeds sqrt", index.insert, x[2000:], v_matrix=other.v_matrix[2000:],
           p_diag=other.p_diag[2000:])
    assert index.n_points == 2000


def test_bad_dtypes_and_arguments():
    raises(ValueError, "real numbers", pcct.brute_force_knn, np.array([["a", "b"]]), 1)
    raises(ValueError, "real numbers", pcct.brute_force_knn, np.ones((3, 2), dtype=bool), 1)
    raises(ValueError, "kernel must be a pcct.kernels kernel", pcct.cover_tree, X, "rbf")
    raises(ValueError, "algorithm must be one of", pcct.cover_tree, X, algorithm="fast")
    raises(ValueError, "n_threads must be >= 1", pcct.brute_force_knn, X, 2, n_threads=0)
    raises(ValueError, "n_threads must be at most 1024", pcct.brute_force_knn, X, 2, n_threads=100_000)
    raises(ValueError, "n_threads must be at most 1024", pcct.cover_tree(X).knn, 2, n_threads=1025)
    # The private binding checks its arguments too (the public wrapper always passes them).
    raises(ValueError, "needs ids", pcct.cover_tree(X)._core.knn, "ids", None, None, 2, False, 0)
    raises(ValueError, "kind must be", pcct.cover_tree(X)._core.knn, "bogus", None, None, 2, False, 0)
    raises(ValueError, "v_matrix and p_diag must be given together", pcct.cover_tree, X, RBF, v_matrix=np.ones((50, 2)))
    raises(ValueError, "need a kernel", pcct.cover_tree, X, v_matrix=np.ones((50, 2)), p_diag=np.ones(50))
    raises(ValueError, "unknown kernel", pcct.kernels.kernel_from_name, "cosine")
    for algorithm in ("tree", "kdtree"):  # Euclidean indexes take coordinates only
        index = pcct.cover_tree(X, algorithm=algorithm)
        raises(ValueError, "only apply to the residual", index.insert, X[:2], p_diag=np.ones(2))
        raises(ValueError, "only apply to the residual", index.insert, X[:2], v_matrix=np.ones((2, 2)))
        raises(ValueError, "points have 2 columns but the index has dimension 3", index.insert, np.zeros((0, 2)))
        index.insert(np.zeros((0, 3)))  # no points: checked, then nothing to do
        assert index.n_points == 50


def test_empty_queries_give_empty_answers_and_are_still_checked():
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    for index in (pcct.cover_tree(X, algorithm="tree"), pcct.cover_tree(X, algorithm="kdtree"),
                  pcct.cover_tree(model), pcct.cover_tree(model, algorithm="brute")):
        for queries in ([], np.zeros(0, dtype=np.int32), np.zeros((0, 3))):
            ids, dist = index.knn(4, queries)
            assert ids.shape == (0, 4) and ids.dtype == np.int64
            assert dist.shape == (0, 4) and dist.dtype == np.float64
            assert index.last_stats["queries"] == 0
        assert index.knn(4, [], predecessor_mode=True)[0].shape == (0, 4)
        raises(ValueError, "exceeds the number of points", index.knn, 51, [])
        raises(ValueError, "queries have 2 columns", index.knn, 4, np.zeros((0, 2)))
        raises(ValueError, "predecessor_mode needs queries given by point id", index.knn, 4, np.zeros((0, 3)),
               predecessor_mode=True)
    assert pcct.brute_force_knn(X, 2, queries=[])[0].shape == (0, 2)


def test_conflicting_model_arguments():
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    raises(ValueError, "is a ResidualModel already", pcct.cover_tree, model, RBF)
    raises(ValueError, "is a ResidualModel already", pcct.cover_tree, model, inducing_count=3)


def test_arguments_are_named_in_errors():
    raises(ValueError, "seed must be a non-negative integer", pcct.ResidualModel, X, RBF, inducing_count=5, seed=-1)
    raises(ValueError, "seed must be a non-negative integer", pcct.ResidualModel, X, RBF, inducing_count=5, seed=1.5)
    raises(ValueError, "seed must be a non-negative integer", pcct.ResidualModel, X, RBF, inducing=[1, 2], seed=-1)
    assert pcct.ResidualModel(X, RBF, inducing_count=5, seed=None).inducing.shape == (5,)  # fresh entropy
    for bad in (None, "abc", [2.0]):
        raises(ValueError, "base must be a finite number >= 1.01", pcct.cover_tree, X, base=bad)
    raises(ValueError, "queries must be None, a 1-D array", pcct.brute_force_knn, X, 2, queries=[[1.0, 2.0], [3.0]])
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    raises(IndexError, "b: id 50 at position 1 is out of range \\[0, 50\\)", model.distances, [0], [1, 50])
    raises(ValueError, "inducing must hold at least one point id", pcct.ResidualModel, X, RBF, inducing=[])
    # Beyond any integer the core takes, k is still "more than the points", not a binding error.
    raises(ValueError, "k \\(9223372036854775808\\) exceeds the number of points \\(50\\)", pcct.cover_tree(X).knn,
           2**63)
    for bad in ("no", 2, None, 0.5):
        raises(ValueError, "predecessor_mode must be True or False", pcct.cover_tree(X).knn, 2,
               predecessor_mode=bad)
    assert pcct.cover_tree(X).knn(2, predecessor_mode=np.True_)[0][0, 0] == -1
    assert pcct.cover_tree(X).knn(2, predecessor_mode=np.array(True))[0][0, 0] == -1


def test_insert_of_factors_into_an_inducing_point_model_is_refused():
    # The model computes V and p of new points from its inducing points; caller rows would mix
    # two factorisations, whose K - V V^T need not be PSD (a tree over a non-metric).
    model = pcct.ResidualModel(X, RBF, inducing_count=5)
    index = pcct.cover_tree(model, algorithm="tree")
    y = X[:3] + 0.05
    raises(ValueError, "built from inducing points", index.insert, y, v_matrix=np.zeros((3, 5)),
           p_diag=np.ones(3))
    assert index.n_points == 50
    index.insert(np.zeros((0, 3)))  # no points: nothing to do (a batch loop's last batch)
    assert index.n_points == 50
    raises(ValueError, "points have 2 columns but the index has dimension 3", index.insert, np.zeros((0, 2)))
    raises(ValueError, "built from inducing points", index.insert, np.zeros((0, 3)), v_matrix=np.zeros((0, 5)),
           p_diag=np.zeros(0))
    index.insert(y)
    assert index.n_points == 53


def test_empty_insert_with_factors_is_checked_then_a_no_op():
    # A batch loop over the user's own factors ends with an empty batch: nothing to insert, but
    # the arguments are checked as for a non-empty batch.
    y = X[:4] + 0.01
    full = pcct.ResidualModel(np.vstack([X, y]), RBF, inducing=np.arange(5))  # valid factors for X and y
    v, p = full.v_matrix, full.p_diag
    model = pcct.ResidualModel.from_factors(X, RBF, v_matrix=v[:50], p_diag=p[:50])
    index = pcct.cover_tree(model, algorithm="tree")
    rank = model.rank
    index.insert(np.zeros((0, 3)), v_matrix=np.zeros((0, rank)), p_diag=np.zeros(0))
    assert index.n_points == 50
    raises(ValueError, "must be given together", index.insert, np.zeros((0, 3)), v_matrix=np.zeros((0, rank)))
    raises(ValueError, f"v_matrix has {rank + 1} columns but the index's V has rank {rank}", index.insert,
           np.zeros((0, 3)), v_matrix=np.zeros((0, rank + 1)), p_diag=np.zeros(0))
    raises(ValueError, "v_matrix and p_diag must have 0 rows for 0 points, got 0 and 1", index.insert,
           np.zeros((0, 3)), v_matrix=np.zeros((0, rank)), p_diag=np.zeros(1))
    raises(ValueError, "v_matrix and p_diag must have 0 rows for 0 points, got 2 and 0", index.insert,
           np.zeros((0, 3)), v_matrix=np.zeros((2, rank)), p_diag=np.zeros(0))
    raises(ValueError, "v_matrix must contain real numbers", index.insert, np.zeros((0, 3)),
           v_matrix=np.zeros((0, rank), dtype=str), p_diag=np.zeros(0))
    raises(ValueError, "n_threads must be >= 1", index.insert, np.zeros((0, 3)), n_threads=-5)
    raises(ValueError, "points must contain real numbers", index.insert, np.zeros((0, 3), dtype=bool))
    assert index.n_points == 50
    raises(ValueError, f"v_matrix has {rank + 1} columns but the index's V has rank {rank}", index.insert, y,
           v_matrix=np.zeros((4, rank + 1)), p_diag=p[50:])
    raises(ValueError, "points have 2 columns but the index has dimension 3", index.insert, y[:, :2],
           v_matrix=v[50:], p_diag=p[50:])
    assert index.n_points == 50
    index.insert(y, v_matrix=v[50:], p_diag=p[50:])
    assert index.n_points == 54
    raises(ValueError, "only apply to the residual-correlation metric", pcct.cover_tree(X).insert,
           np.zeros((0, 3)), v_matrix=np.zeros((0, 2)), p_diag=np.zeros(0))


def test_default_threads_beyond_the_limit_are_capped():
    # OMP_NUM_THREADS above the limit is not the user's n_threads: the default is capped.
    code = ("import numpy as np, pcct; x = np.random.default_rng(0).normal(size=(300, 3)); "
            "m = pcct.ResidualModel(x, pcct.kernels.RBF(), inducing_count=20); "
            "i = pcct.cover_tree(m, algorithm='tree'); print(pcct._core.default_threads(), i.knn(3)[0][5, 0])")
    # OMP_THREAD_LIMIT keeps the threads actually started few (the default is still 1,500).
    env = {**os.environ, "OMP_NUM_THREADS": "1500", "OMP_THREAD_LIMIT": "4"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1024", "5"]


def test_numpy_scalars_masked_arrays_and_odd_types():
    # 0-d arrays (what NumPy reductions return) count as their scalar; a masked array's mask
    # would be dropped silently by np.asarray, so it is refused; strings are not numbers.
    assert pcct.brute_force_knn(X, np.array(3), n_threads=np.array(2))[0].shape == (50, 3)
    assert pcct.ResidualModel(X, RBF, inducing_count=np.int32(5), seed=np.array(1)).rank == 5
    raises(ValueError, "masked array", pcct.brute_force_knn, np.ma.masked_array(X, mask=X > 1), 3)
    index = pcct.cover_tree(X)
    for masked in (np.ma.masked_array(X[:2], mask=X[:2] > 0), np.ma.masked_array([5, 7], mask=[False, True])):
        raises(ValueError, "queries is a masked array", index.knn, 3, masked)
        raises(ValueError, "queries is a masked array", pcct.brute_force_knn, X, 3, queries=masked)
    raises(ValueError, "base must be a finite number", pcct.cover_tree, X, base="2")
    raises(ValueError, "kernel name must be a string", pcct.kernels.kernel_from_name, None)


@pytest.mark.parametrize("algorithm", ["tree", "scan", "kdtree", "brute"])
def test_bad_query_coordinates_and_inserted_points(algorithm):
    x = X[:, :2]
    index = pcct.cover_tree(x, algorithm=algorithm)
    for bad, message in ((np.nan, r"non-finite value \(nan\) at row 1, column 0"),
                         (1e151, r"too large for float64 distances \(1e\+151\) at row 1, column 0")):
        q = np.zeros((2, 2))
        q[1, 0] = bad
        raises(ValueError, "queries .*" + message, index.knn, 3, q)
        if algorithm != "brute":
            raises(ValueError, "points .*" + message, index.insert, q)
            assert index.n_points == 50
    if algorithm == "brute":
        raises(ValueError, r"insert needs a tree index \(this one uses algorithm='brute'\)", index.insert, x[:2])
    raises(ValueError, r"got shape \(2, 2, 2\)", index.knn, 3, np.zeros((2, 2, 2)))


def test_bad_residual_inputs_and_argument_combinations():
    x = X[:, :2]
    model = pcct.ResidualModel(x, RBF, inducing_count=10)
    for algorithm in ("tree", "scan", "brute"):
        raises(ValueError, r"queries contains a non-finite value \(nan\)", pcct.cover_tree(model, algorithm=algorithm).knn,
               3, np.array([[np.nan, 0.0]]))
    raises(ValueError, r"points contains a non-finite value \(nan\)", pcct.cover_tree(model, algorithm="tree").insert,
           np.array([[np.nan, 0.0]]))
    raises(ValueError, r"coords has a value too large for float64 distances", pcct.brute_force_knn,
           np.array([[1e151, 0.0], [0.0, 0.0]]), 1)
    raises(ValueError, "coordinates divided by the lengthscale are too large", pcct.ResidualModel, x,
           pcct.kernels.RBF(1e-160), inducing_count=5)
    raises(ValueError, "give either inducing_count or inducing, not both", pcct.ResidualModel, x, RBF,
           inducing_count=5, inducing=[1, 2])
    raises(ValueError, r"give either user factors \(v_matrix, p_diag\) or inducing points, not both", pcct.cover_tree,
           x, RBF, inducing_count=5, v_matrix=model.v_matrix, p_diag=model.p_diag)
    raises(ValueError, "kernel must be a pcct.kernels kernel .*got 'rbf'", pcct.ResidualModel, x, "rbf", inducing_count=5)
    raises(ValueError, "kernel must be a pcct.kernels kernel", pcct.ResidualModel.from_factors, x, "rbf",
           v_matrix=model.v_matrix, p_diag=model.p_diag)


def test_insert_refuses_factors_that_are_not_a_metric_and_changes_nothing():
    x = X[:, :2]
    model = pcct.ResidualModel(x, RBF, inducing_count=10)
    v, p = model.v_matrix, model.p_diag
    index = pcct.cover_tree(x[:40], RBF, v_matrix=v[:40], p_diag=p[:40], algorithm="tree")
    before = index.knn(5)
    too_long = v[40:].copy()
    too_long[0] *= 10  # |V_i|^2 > K_ii
    raises(ValueError, r"point 40: \|V_i\|\^2 = .* exceeds K\(x_i, x_i\)", index.insert, x[40:], v_matrix=too_long,
           p_diag=p[40:])
    tiny_p = p[40:].copy()
    tiny_p[1] = 1e-300
    raises(ValueError, r"p_diag must be finite and within \[1e-150, 1e150\], got 1e-300 at index 1", index.insert,
           x[40:], v_matrix=v[40:], p_diag=tiny_p)
    assert index.n_points == 40
    index.validate()
    after = index.knn(5)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


def test_one_new_location_as_a_1d_array_is_explained():
    raises(ValueError, r"a 1-D array is a list of point ids, got dtype float64; give new coordinates as a 2-D array",
           pcct.cover_tree(X).knn, 3, X[0])
    assert pcct.cover_tree(X).knn(3, X[0][None, :])[0].shape == (1, 3)


def test_integers_float64_cannot_hold_are_refused():
    # 2^53 + 1 would become 2^53 in float64: a distance of 0 where the data say 1.
    x = np.array([[2**53], [2**53 + 1], [2**53 + 3]], dtype=np.int64)
    raises(ValueError, r"coords has an integer \(9007199254740993\) at index \(1, 0\) that float64 cannot hold",
           pcct.brute_force_knn, x, 1)
    raises(ValueError, "queries has an integer", pcct.cover_tree(X[:, :1]).knn, 1,
           np.array([[-(2**53) - 1]], dtype=np.int64))
    raises(ValueError, "coords has an integer", pcct.cover_tree, np.array([[2**63 + 5], [1]], dtype=np.uint64))
    ok = np.array([[2**53], [2**53 - 1], [2**53 - 4]], dtype=np.int64)  # exactly representable
    assert pcct.brute_force_knn(ok, 2)[0].tolist() == [[0, 1], [1, 0], [2, 1]]
    exact = np.array([[2**60], [2**60 + 2**8], [-(2**62)]], dtype=np.int64)  # beyond 2^53, but float64 holds them
    assert pcct.brute_force_knn(exact, 1)[0].tolist() == [[0], [1], [2]]
    raises(ValueError, "has an integer", pcct.brute_force_knn, np.array([[2**63 - 1], [0]], dtype=np.int64), 1)
    assert pcct.brute_force_knn(np.array([[1], [2]], dtype=np.uint64), 1)[0].tolist() == [[0], [1]]
    raises(ValueError, "must contain real numbers", pcct.brute_force_knn, np.zeros((3, 2), dtype="V0"), 1)


def test_views_with_strides_not_a_multiple_of_the_item_size_are_accepted():
    # A field of a packed record array: float64 values 25 bytes apart (copied, not refused).
    rec = np.zeros(60, dtype=[("flag", "i1"), ("xyz", "f8", (3,)), ("id", "i8")])
    pts = np.random.default_rng(1).normal(size=(60, 3))
    rec["xyz"] = pts
    rec["id"] = np.arange(60)[::-1]
    x = rec["xyz"]
    assert x.strides[0] % 8 != 0
    want = pcct.brute_force_knn(np.ascontiguousarray(x), 4)
    for got in (pcct.brute_force_knn(x, 4), pcct.cover_tree(x).knn(4), pcct.cover_tree(x, algorithm="tree").knn(4)):
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    ids = rec["id"][:5]  # int64 ids 33 bytes apart
    assert np.array_equal(pcct.cover_tree(x).knn(4, ids)[0], want[0][ids])
    model = pcct.ResidualModel(x, RBF, inducing=rec["id"][:10])
    assert np.array_equal(model.v_matrix, pcct.ResidualModel(pts, RBF, inducing=np.arange(59, 49, -1)).v_matrix)
