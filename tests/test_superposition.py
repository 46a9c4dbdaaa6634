"""The toy model reproduces the paper's pictures: 2 orthogonal features when dense, a pentagon
when sparse."""

from __future__ import annotations

import numpy as np

from handcalc.superposition import sample_features, train_toy_model


def angles(W: np.ndarray) -> np.ndarray:
    return np.sort(np.degrees(np.arctan2(W[1], W[0])))


def test_dense_keeps_the_two_most_important_features_at_right_angles() -> None:
    model = train_toy_model(sparsity=0.0, steps=2000)
    norms = model.norms()
    assert (norms[:2] > 0.9).all() and (norms[2:] < 0.2).all()
    gap = abs(angles(model.W[:, :2])[1] - angles(model.W[:, :2])[0])
    assert abs(gap - 90) < 5


def test_sparse_makes_a_pentagon() -> None:
    model = train_toy_model(sparsity=0.95, steps=2000)
    assert (model.norms() > 0.9).all()
    a = angles(model.W)
    gaps = np.diff(np.r_[a, a[0] + 360])
    assert np.all(np.abs(gaps - 72) < 6), gaps


def test_features_are_present_with_probability_one_minus_s() -> None:
    x = sample_features(5, 20000, 0.8, np.random.default_rng(0))
    assert abs((x > 0).mean() - 0.2) < 0.01 and x.max() <= 1
