"""Bad input gets a sentence a learner understands, never a bare numpy traceback."""

from __future__ import annotations

import re

import numpy as np
import pytest

import handcalc as hc

W34 = np.ones((3, 4))
b3 = np.zeros(3)


def raises(error: type[Exception], *fragments: str):
    """pytest.raises that also checks the message holds every fragment, in order."""
    return pytest.raises(error, match=".*".join(re.escape(f) for f in fragments))


def test_samples_as_rows_names_both_shapes_and_the_fix() -> None:
    with raises(
        ValueError,
        "W has shape (3, 4), so X needs 4 rows, one per input feature; got X with shape (5, 4)",
        "X.T would fit",
        "columns are samples",
    ):
        hc.linear(W34, b3, np.ones((5, 4)))


def test_wrong_inner_size_without_transpose_hint() -> None:
    with pytest.raises(ValueError) as error:
        hc.linear(W34, b3, np.ones((2, 7)))
    assert "X needs 4 rows" in str(error.value) and "X.T" not in str(error.value)


def test_bias_of_the_wrong_length() -> None:
    with raises(ValueError, "b needs one entry per output of W (3)", "got shape (4,)"):
        hc.linear(W34, np.zeros(4), np.ones((4, 2)))


def test_vector_instead_of_matrix() -> None:
    with raises(ValueError, "X must be a matrix", "got 1-D", "shape (n, 1)"):
        hc.linear(W34, b3, np.ones(4))


def test_nested_lists_are_accepted() -> None:
    assert hc.linear([[1, 2]], [0], [[1], [1]]).tolist() == [[3]]


def test_ragged_nested_list() -> None:
    with raises(ValueError, "X is a ragged nested list", "X[0] has 2 entries but X[1] has 3"):
        hc.linear([[1, 2]], [0], [[1, 2], [3, 4, 5]])


def test_nan_names_where() -> None:
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with raises(ValueError, "X contains NaN at index (2, 1)", "finite"):
        hc.linear(W34, b3, X)


def test_infinity() -> None:
    with raises(ValueError, "F contains an infinite value"):
        hc.l1_grad([[1.0, np.inf]])


def test_text_instead_of_numbers() -> None:
    with raises(TypeError, "Z must contain only numbers; it contains 'a'"):
        hc.relu([[1, "a"]])
    with raises(TypeError, "Z must be numbers", "got the text"):
        hc.relu("1 2 3")


def test_booleans_are_refused() -> None:
    with raises(TypeError, "True/False"):
        hc.relu(np.array([[True, False]]))


def test_unknown_reduction() -> None:
    with raises(ValueError, 'reduction must be "sum"', '"mean"', "got 'average'"):
        hc.mse([[1]], [[1]], reduction="average")


def test_mse_shapes_must_match_with_transpose_hint() -> None:
    with raises(
        ValueError, "X_hat and X must have the same shape", "(2, 3)", "(3, 2)", "transposed"
    ):
        hc.mse_grad(np.ones((2, 3)), np.ones((3, 2)))


def test_l1_grad_features_must_match_decoder_columns() -> None:
    with raises(ValueError, "W_dec has 6 columns (one per feature), so F needs 6 rows"):
        hc.l1_grad(np.ones((5, 6)), np.ones((3, 6)))


def test_lam_must_be_a_number() -> None:
    with raises(TypeError, "lam must be a number"):
        hc.l1_grad([[1]], lam="big")


def test_relu_backward_shapes() -> None:
    with raises(ValueError, "dH and Z must have the same shape"):
        hc.relu_backward(np.ones((2, 3)), np.ones((2, 4)))


def test_linear_backward_shape_of_dZ() -> None:
    with raises(ValueError, "dZ must have the shape of the layer's output W X, (3, 2)"):
        hc.linear_backward(np.ones((2, 3)), W34, np.ones((4, 2)))


def test_sgd_step_errors() -> None:
    with raises(ValueError, "lr must be greater than 0"):
        hc.sgd_step({"W": [[1]]}, {"W": [[1]]}, lr=-0.1)
    with raises(ValueError, "no gradient for ['b']"):
        hc.sgd_step({"W": [[1]], "b": [1]}, {"W": [[1]]}, lr=0.1)
    with raises(ValueError, "grads['W'] and params['W'] must have the same shape"):
        hc.sgd_step({"W": [[1, 2]]}, {"W": [[1]]}, lr=0.1)


def test_problem_with_mismatched_layers() -> None:
    with raises(
        ValueError, "W2 must have 3 columns, one per input of layer 2", "got W2 with shape"
    ):
        hc.AutoencoderProblem(np.ones((4, 4)), [(W34, b3), (np.ones((2, 4)), np.zeros(2))])
    with raises(ValueError, "the last layer must output 4 values"):
        hc.AutoencoderProblem(np.ones((4, 4)), [(W34, b3)])


def test_sae_problem_with_transposed_decoder() -> None:
    with raises(ValueError, "W_dec must have shape (3, 6)", "column j", "It looks transposed"):
        hc.SAEProblem(np.ones((3, 5)), np.ones((6, 3)), np.zeros(6), np.ones((6, 3)), np.zeros(3))


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_seeds(seed) -> None:
    with raises(TypeError, "seed must be a whole number >= 0"):
        hc.sae_problem(seed)


def test_unknown_trace_step_lists_the_real_ones() -> None:
    trace = hc.sae_trace(hc.sae_problem())
    with raises(KeyError, "no step or given value named 'Z1'", "steps: Z, F, X_hat"):
        trace["Z1"]


def test_trusted_skips_the_checks_only_inside_its_block() -> None:
    """The trainer's inner loop skips the input checks; everywhere else they still run."""
    from handcalc._validate import as_array, trusted

    bad = np.array([1.0, np.nan])
    with trusted():
        assert as_array(bad, "X") is bad  # taken as it is
        with pytest.raises(TypeError, match="must be numbers"):
            as_array("text", "X")  # not a float64 array: still checked
    with pytest.raises(ValueError, match="NaN"):
        as_array(bad, "X")
