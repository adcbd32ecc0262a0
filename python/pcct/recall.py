"""Recall of a k-NN answer against a reference answer."""
from __future__ import annotations

import numpy as np


def recall(ids: np.ndarray, dist: np.ndarray, ref_ids: np.ndarray, ref_dist: np.ndarray) -> float:
    """Fraction of the reference neighbours found, per query, averaged.

    A returned id outside the reference set still counts when its distance equals the
    reference k-th distance exactly (an exact tie: either id is a correct answer).
    Padding (-1) in the reference is not counted; an id returned more than once counts once.
    """
    ids = np.asarray(ids)
    ref_ids = np.asarray(ref_ids)
    if ids.shape != ref_ids.shape:
        raise ValueError(f"answer shape {ids.shape} differs from reference shape {ref_ids.shape}")
    total = 0.0
    counted = 0
    for q in range(ref_ids.shape[0]):
        valid = ref_ids[q] >= 0
        n_valid = int(valid.sum())
        if n_valid == 0:
            continue
        kth = ref_dist[q][valid][-1]
        ref_set = set(ref_ids[q][valid].tolist())
        hits = 0
        seen = set()  # an id returned twice is found once
        for j, d in zip(ids[q].tolist(), dist[q].tolist()):
            if j >= 0 and j not in seen and (j in ref_set or d == kth):
                hits += 1
            seen.add(j)
        total += min(hits, n_valid) / n_valid
        counted += 1
    return total / counted if counted else 1.0
