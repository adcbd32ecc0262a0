"""pcct.brute_force_knn against a naive NumPy k-NN on many random workloads."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import pcct
from oracle import assert_knn_matches, euclidean_d2_tolerance, euclidean_sq_distances, knn_from_sq_distances
from workloads import workloads


@given(w=workloads(), data=st.data())
def test_matches_naive_numpy(w, data):
    n = len(w.x)
    k = data.draw(st.sampled_from([1, min(n, 5), n, data.draw(st.integers(1, n))]))
    predecessor = data.draw(st.booleans())
    if data.draw(st.booleans()):
        qids = np.arange(n)
        queries = None
    else:
        qids = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40)).copy()
        queries = np.asarray(qids, dtype=data.draw(st.sampled_from([np.int64, np.int32, np.uint16])))
        qids = np.asarray(qids)
    ids, dist = pcct.brute_force_knn(w.data(), k, queries=queries, predecessor_mode=predecessor, n_threads=3)
    d2, tol2 = w.sq_distances(rows=qids)
    assert_knn_matches(ids, dist, d2, tol2, qids, k, predecessor)
    ids1, dist1 = pcct.brute_force_knn(w.data(), k, queries=queries, predecessor_mode=predecessor, n_threads=1)
    assert np.array_equal(ids, ids1) and np.array_equal(dist, dist1), "answer depends on the thread count"


@given(w=workloads(metric="euclidean"), data=st.data())
def test_euclidean_new_coordinate_queries(w, data):
    n, dim = w.x.shape
    nq = data.draw(st.integers(1, 20))
    qx = np.random.default_rng(nq).normal(0, 1, (nq, dim))
    k = data.draw(st.integers(1, n))
    ids, dist = pcct.brute_force_knn(w.x_input, k, queries=qx)
    d2 = euclidean_sq_distances(qx, w.x)
    assert_knn_matches(ids, dist, d2, euclidean_d2_tolerance(qx, w.x), np.full(nq, -1), k, False)


def test_residual_new_coordinate_queries_equal_dataset_queries():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 3))
    model = pcct.ResidualModel(x, pcct.kernels.Matern32(0.8), inducing_count=40, seed=0)
    q = np.array([3, 77, 400])
    by_id, d_id = pcct.brute_force_knn(model, 10, queries=q)
    by_xy, d_xy = pcct.brute_force_knn(model, 10, queries=x[q] + 1e-12)
    np.testing.assert_array_equal(by_id[:, 1:], by_xy[:, 1:])
    np.testing.assert_allclose(d_id, d_xy, atol=1e-4)


def test_n_equals_one_and_k_equals_n():
    ids, dist = pcct.brute_force_knn(np.array([[1.0, 2.0]]), 1)
    assert ids.tolist() == [[0]] and dist.tolist() == [[0.0]]
    ids, dist = pcct.brute_force_knn(np.array([[1.0, 2.0]]), 1, predecessor_mode=True)
    assert ids.tolist() == [[-1]] and np.isinf(dist[0, 0])
    x = np.random.default_rng(0).normal(size=(40, 2))
    ids, _ = pcct.brute_force_knn(x, 40)
    assert all(sorted(row) == list(range(40)) for row in ids.tolist())


def test_return_distances_false_returns_ids_only():
    x = np.random.default_rng(0).normal(size=(30, 2))
    ids = pcct.brute_force_knn(x, 3, return_distances=False)
    assert isinstance(ids, np.ndarray) and ids.shape == (30, 3) and ids.dtype == np.int64
    for bad in ("no", 2, None):  # not read as True or False by truthiness
        with pytest.raises(ValueError, match="return_distances must be True or False"):
            pcct.brute_force_knn(x, 3, return_distances=bad)


def test_gil_is_released_during_queries():
    import threading
    import time
    x = np.random.default_rng(0).normal(size=(20000, 3))
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    pcct.brute_force_knn(x, 20, n_threads=1)
    stop.set()
    t.join()
    assert len(ticks) > 5


@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_gold_small_brute_force_matches_numpy(n_threads):
    from pcct.gold import gold_workload
    from oracle import residual_sq_distances, residual_d2_tolerance
    w = gold_workload(n=4096, n_queries=256, k=50)
    model = pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing)
    ids, dist = pcct.brute_force_knn(model, 50, queries=w.queries, n_threads=n_threads)
    v, p = model.v_matrix, model.p_diag
    cols = np.arange(4096)
    d2 = residual_sq_distances(w.coords, "rbf", 1.0, 1.0, v, p, w.queries, cols)
    tol = residual_d2_tolerance(v, p, 1.0, w.queries, cols)
    assert_knn_matches(ids, dist, d2, tol, w.queries, 50, False)
    assert np.all(ids[:, 0] == w.queries) and np.all(dist[:, 0] == 0)
