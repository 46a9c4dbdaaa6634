"""Each step on small examples worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

import handcalc as hc


def test_linear_by_hand() -> None:
    W = [[1, 2], [0, -1]]
    X = [[1, 3], [2, -1]]  # two samples as columns: (1, 2) and (3, -1)
    # sample 1: (1*1 + 2*2, 0*1 - 1*2) = (5, -2); sample 2: (3 - 2, 1) = (1, 1); then + b
    assert hc.linear(W, [10, 20], X).tolist() == [[15, 11], [18, 21]]


def test_bias_as_column_or_vector() -> None:
    W, X = [[1, 2], [0, -1]], [[1, 3], [2, -1]]
    assert np.array_equal(hc.linear(W, [10, 20], X), hc.linear(W, [[10], [20]], X))


def test_bias_trick_agrees_with_linear() -> None:
    rng = np.random.default_rng(0)
    W, b, X = rng.integers(-3, 4, (3, 4)), rng.integers(-3, 4, 3), rng.integers(-3, 4, (4, 5))
    W_aug, X_aug = hc.bias_trick(W, b, X)
    assert W_aug.shape == (3, 5) and X_aug.shape == (5, 5)
    assert np.array_equal(W_aug[:, -1], b) and np.array_equal(X_aug[-1], np.ones(5))
    assert np.array_equal(W_aug @ X_aug, hc.linear(W, b, X))


def test_relu() -> None:
    assert hc.relu([[-2, 0, 3]]).tolist() == [[0, 0, 3]]


def test_decoder_norms_are_per_column() -> None:
    W_dec = [[1, 0, 3], [2, 0, 0], [2, 2, 4]]  # columns (1, 2, 2), (0, 0, 2), (3, 0, 4)
    assert hc.decoder_norms(W_dec).tolist() == [3, 2, 5]


def test_l1_grad_plain_and_weighted() -> None:
    F = [[0, 2, 1], [3, 0, 0]]
    assert hc.l1_grad(F).tolist() == [[0, 1, 1], [1, 0, 0]]
    W_dec = [[1, 0], [2, 0], [2, 2]]  # feature lengths 3 and 2
    assert hc.l1_grad(F, W_dec, lam=2).tolist() == [[0, 6, 6], [4, 0, 0]]
    # loss: 2 * (3 * (2 + 1) + 2 * 3) = 30
    assert hc.l1_loss(F, W_dec, lam=2) == 30


def test_l1_grad_of_negative_entries_is_minus_the_weight() -> None:
    assert hc.l1_grad([[-2.0, 0.5]], lam=3).tolist() == [[-3, 3]]


def test_mse_sum_and_mean() -> None:
    X_hat, X = [[1, 2], [3, 4]], [[0, 2], [5, 4]]  # errors 1, 0, -2, 0
    assert hc.mse(X_hat, X) == 5
    assert hc.mse(X_hat, X, reduction="mean") == 5 / 4
    assert hc.mse_grad(X_hat, X).tolist() == [[2, 0], [-4, 0]]
    assert hc.mse_grad(X_hat, X, reduction="mean").tolist() == [[0.5, 0], [-1, 0]]


def test_relu_backward_blocks_where_z_is_not_positive() -> None:
    assert hc.relu_backward([[5, 6, 7]], [[-1, 0, 2]]).tolist() == [[0, 0, 7]]


def test_linear_backward_by_hand() -> None:
    W = np.array([[1, 2], [0, -1]])
    X = np.array([[1, 3], [2, -1]])
    dZ = np.array([[1, 0], [2, -1]])
    dW, db, dX = hc.linear_backward(dZ, W, X)
    assert dW.tolist() == [[1, 2], [-1, 5]]  # dZ X^T
    assert db.tolist() == [1, 1]  # each row of dZ summed over the samples
    assert dX.tolist() == [[1, 0], [0, 1]]  # W^T dZ


def test_l1_decoder_grad_by_hand() -> None:
    F = [[1, 2], [0, 0]]  # feature 0 totals 3, feature 1 never fires
    W_dec = [[1, 3], [2, 0], [2, 0]]  # lengths 3 and 3
    # column 0: 3 * (1, 2, 2) / 3 = (1, 2, 2); column 1: 0
    assert hc.l1_decoder_grad(F, W_dec).tolist() == [[1, 0], [2, 0], [2, 0]]


def test_l1_decoder_grad_of_a_zero_column_is_zero() -> None:
    assert hc.l1_decoder_grad([[1.0]], [[0.0], [0.0]]).tolist() == [[0], [0]]


def test_sgd_step() -> None:
    new = hc.sgd_step({"W": [[1, 2]], "b": [3]}, {"W": [[10, -20]], "b": [5]}, lr=0.1)
    assert new["W"].tolist() == [[0, 4]] and new["b"].tolist() == [2.5]


def test_inputs_are_not_modified() -> None:
    params = {"W": np.array([[1.0, 2.0]])}
    hc.sgd_step(params, {"W": np.array([[1.0, 1.0]])}, lr=1)
    assert params["W"].tolist() == [[1, 2]]


@pytest.mark.parametrize("step", ["linear", "relu", "mse_grad", "l1_grad"])
def test_outputs_are_float64(step: str) -> None:
    args = {
        "linear": ([[1]], [1], [[1]]),
        "relu": ([[1]],),
        "mse_grad": ([[1]], [[0]]),
        "l1_grad": ([[1]],),
    }[step]
    assert getattr(hc, step)(*args).dtype == np.float64
