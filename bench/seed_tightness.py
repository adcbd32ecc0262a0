"""How tight the level scan's seed bounds are on gold (a measurement, not a timing).

    .venv/bin/python bench/seed_tightness.py [--sizes 150 300 600]

For each of the 1,024 gold query ids: the k-th smallest residual distance among its m nearest
points in coordinates (the seed bound the scan starts from, m = 3k = 150 in pcct), divided by
its true k-th distance from the exact brute force. A ratio of 1 means the scan prunes with the
final threshold from the start.
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.spatial import cKDTree

import pcct
from pcct.gold import gold_workload


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 300, 600])
    args = ap.parse_args()
    w = gold_workload()
    model = pcct.ResidualModel(w.coords, w.kernel, inducing=w.inducing)
    _, dist = pcct.cover_tree(model, algorithm="brute").knn(w.k, queries=w.queries)
    true_kth = dist[:, -1]
    coords = cKDTree(w.coords)  # gold's lengthscale is 1: scaled coordinates are the coordinates
    for m in args.sizes:
        _, near = coords.query(w.coords[w.queries], m)
        seed = np.array([np.sort(model.distances(np.array([q]), near[i]).ravel())[w.k - 1]
                         for i, q in enumerate(w.queries)])
        ratio = seed / true_kth
        print(f"{m} nearest: seed / true k-th distance median {np.median(ratio):.3f}, "
              f"90th percentile {np.quantile(ratio, 0.9):.3f}, max {ratio.max():.3f}")


if __name__ == "__main__":
    main()
