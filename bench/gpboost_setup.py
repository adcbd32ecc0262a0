"""Timing GPBoost's full-scale Vecchia (VIF) set-up, with residual-correlation neighbours.

GPBoost 1.8.0 selects residual-correlation neighbours when gp_approx is
"full_scale_vecchia_correlation_based" (an alias GPBoost's own tests use; the Python docstring
does not list it). The neighbour search runs inside neg_log_likelihood (re-run on every call),
so the timed unit is: construct the model + one likelihood evaluation at fixed parameters.
cov_pars = [error variance, marginal variance, range]; GPBoost's Matern 3/2 is
sigma^2 (1 + sqrt(3) d / range) exp(-sqrt(3) d / range), i.e. pcct's Matern32(lengthscale=range).
vecchia_ordering="none" keeps the data order, so neighbours are predecessors (j < i).
GPBoost picks its own inducing points ("random" here); pcct uses the same number of random points.
"""
from __future__ import annotations

import numpy as np

from common import median_time


def time_vif_setup(gpb, x: np.ndarray, m: int, k: int, repeats: int, approx="full_scale_vecchia_correlation_based"):
    y = np.random.default_rng(1).standard_normal(len(x))

    def run():
        model = gpb.GPModel(gp_coords=x, likelihood="gaussian", cov_function="matern", cov_fct_shape=1.5,
                            gp_approx=approx, num_neighbors=k, num_ind_points=m, ind_points_selection="random",
                            vecchia_ordering="none", matrix_inversion_method="cholesky", seed=0,
                            num_parallel_threads=2)
        return model.neg_log_likelihood(cov_pars=np.array([0.01, 1.0, 0.1]), y=y)

    t, _, _ = median_time(run, repeats)
    return t, f"GPModel(gp_approx={approx!r}) + one neg_log_likelihood (which runs the neighbour search)"
