"""Learner code that raises gets the course's words first, then the traceback."""

from __future__ import annotations

import numpy as np
import pytest

import handcalc as hc

PROBLEM = hc.autoencoder_problem(3)
TRACE = hc.autoencoder_trace(PROBLEM)


def run(check) -> str:
    """What a check cell prints when it runs `check` inside hc.exercise()."""
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), hc.exercise():
        check()
    return printed.getvalue()


def first_message(printed: str) -> str:
    """The explanation printed first, its wrapped lines joined again."""
    return " ".join(line.strip() for line in printed.split("\n\n")[0].splitlines())


def test_a_bias_added_as_a_row_says_make_it_a_column() -> None:
    def my_linear(W, b, X):
        return W @ X + b  # b is (3,), W @ X is (3, 4): numpy cannot broadcast

    W, b = PROBLEM.layers[0]
    printed = run(lambda: hc.check("Z1", my_linear(W.astype(float), b, PROBLEM.X), PROBLEM))
    first = first_message(printed)
    assert first.startswith("✘ Your my_linear() adds or multiplies, entry by entry, a 3 x 4")
    assert "make it a column, b[:, None]" in first
    assert "In it, W is 3 x 4, b is a vector of 3, X is 4 x 4." in first
    assert "Details" in printed and "Traceback" in printed.split("Details")[1]


def test_a_missing_transpose_in_a_product_says_which_sizes_clash() -> None:
    def my_linear_backward(dZ, W, H):
        return dZ @ H, dZ.sum(axis=1), W.T @ dZ  # H needs a .T

    printed = first_message(run(lambda: my_linear_backward(TRACE["dZ3"], TRACE["W3"], TRACE["H2"])))
    assert "multiplies two matrices whose sizes do not fit" in printed
    assert "dZ is 3 x 4, W is 3 x 2, H is 2 x 4" in printed
    assert "dZ @ H.T" in printed


def test_too_few_results_and_no_result_are_named() -> None:
    def two(dZ, W, H):
        return dZ @ H.T, dZ.sum(axis=1)

    def nothing(X_hat, X):
        _ = 2 * (X_hat - X)  # the forgotten return

    def unpack():
        dW, db, dH = two(TRACE["dZ3"], TRACE["W3"], TRACE["H2"])
        return dW, db, dH

    assert "returns 2 values where the check expects 3" in run(unpack)
    feedback = hc.check("dX_hat", nothing(TRACE["X_hat"], PROBLEM.X), PROBLEM)
    assert not feedback and feedback.message.startswith("Your answer is None")


def test_summing_a_vector_along_axis_one() -> None:
    def my_bias_grad(dZ):
        return dZ.sum(axis=1)

    printed = run(lambda: my_bias_grad(TRACE["db3"]))
    assert "uses axis 1 of an array that has only 1 dimension" in printed


def test_a_stub_not_filled_in_still_fails_as_itself() -> None:
    def my_relu(Z):
        raise NotImplementedError("Your turn: replace this line with your code.")

    with pytest.raises(NotImplementedError):
        run(lambda: my_relu(np.zeros(2)))


def test_pythons_max_on_an_array_points_to_np_maximum() -> None:
    """Issue 26: max(0, Z) raises numpy's 'Use a.any() or a.all()', the wrong fix; the course
    says to work entry by entry with np.maximum."""

    def my_relu(Z):
        return max(0, Z)

    printed = run(lambda: hc.check("H1", my_relu(TRACE["Z1"]), PROBLEM))
    first = first_message(printed)
    assert first.startswith("✘ Your my_relu() asks whether a whole array is true")
    assert "np.maximum(0, Z)" in first and "a.any()" not in first
