"""pcct.recall: the figure benchmarks report for pcct and its peers."""
import numpy as np
import pytest

from pcct.recall import recall


def test_recall_counts_each_reference_neighbour_once():
    ref_ids, ref_d = np.array([[0, 1, 2]]), np.array([[0.0, 0.5, 0.7]])
    assert recall(ref_ids, ref_d, ref_ids, ref_d) == 1.0
    assert recall(np.array([[0, 0, 0]]), np.zeros((1, 3)), ref_ids, ref_d) == pytest.approx(1 / 3)  # one id, thrice
    assert recall(np.array([[0, 1, 9]]), np.array([[0.0, 0.5, 0.9]]), ref_ids, ref_d) == pytest.approx(2 / 3)
    # An exact tie with the k-th distance is a correct answer whichever id it has.
    assert recall(np.array([[0, 1, 9]]), np.array([[0.0, 0.5, 0.7]]), ref_ids, ref_d) == 1.0
    # Padding in the reference (predecessor mode: fewer than k earlier points) is not counted.
    pad_ids, pad_d = np.array([[-1, -1], [0, -1]]), np.array([[np.inf, np.inf], [0.3, np.inf]])
    assert recall(pad_ids, pad_d, pad_ids, pad_d) == 1.0
    assert recall(np.array([[-1, -1], [-1, -1]]), np.full((2, 2), np.inf), pad_ids, pad_d) == 0.0
    with pytest.raises(ValueError, match="answer shape"):
        recall(np.zeros((2, 3)), np.zeros((2, 3)), ref_ids, ref_d)
