"""The backward steps: gradients flowing back through ReLU and linear layers, and one update.

Every gradient is a true gradient, d loss / d thing, with the shape of the thing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validate import ArrayLike, as_array, as_matrix, as_scalar, same_shape
from .steps import _features_and_norms


def relu_backward(dH: ArrayLike, Z: ArrayLike) -> np.ndarray:
    """dZ = dH where Z > 0, else 0. dH: gradient w.r.t. ReLU(Z); both of Z's shape.

    At Z == 0 the derivative is taken as 0, as PyTorch does.
    """
    dH = as_array(dH, "dH")
    Z = as_array(Z, "Z")
    same_shape(dH, Z, "dH", "Z", "the gradient of ReLU(Z) has one entry per entry of Z")
    return np.where(Z > 0, dH, 0.0)


def linear_backward(
    dZ: ArrayLike, W: ArrayLike, X: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients through Z = W X + b, given dZ = d loss / dZ.

    dZ: (out, samples), W: (out, in), X: (in, samples). Returns (dW, db, dX):
    dW = dZ X^T (out, in), db = dZ summed over samples (out,), dX = W^T dZ (in, samples).
    """
    dZ = as_matrix(dZ, "dZ", "outputs x samples")
    W = as_matrix(W, "W", "outputs x inputs")
    X = as_matrix(X, "X", "inputs x samples")
    if X.shape[0] != W.shape[1]:
        raise ValueError(
            f"W has shape {W.shape}, so X needs {W.shape[1]} rows, one per input feature; "
            f"got X with shape {X.shape}."
        )
    expected = (W.shape[0], X.shape[1])
    if dZ.shape != expected:
        raise ValueError(
            f"dZ must have the shape of the layer's output W X, {expected} "
            f"({W.shape[0]} outputs x {X.shape[1]} samples); got dZ with shape {dZ.shape}."
        )
    return dZ @ X.T, dZ.sum(axis=1), W.T @ dZ


def l1_decoder_grad(F: ArrayLike, W_dec: ArrayLike, lam: float = 1) -> np.ndarray:
    """d l1_loss / d W_dec: the penalty also pulls on the decoder through its column norms.

    With s_i = sum_n |F[i, n]|: column i of the result is lam * s_i * W_dec[:, i] / ||W_dec[:, i]||
    (0 for a zero column, as PyTorch does). F: (n_features, samples), W_dec: (d, n_features).
    """
    F, lam, norms = _features_and_norms(F, W_dec, lam)
    W_dec = as_matrix(W_dec, "W_dec")
    totals = np.abs(F).sum(axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    return np.where(norms > 0, lam * totals / safe, 0.0) * W_dec


def sgd_step(
    params: Mapping[str, ArrayLike], grads: Mapping[str, ArrayLike], lr: float
) -> dict[str, np.ndarray]:
    """One gradient-descent update: new = param - lr * grad, for every named parameter.

    Returns a new dict; the inputs are not changed.
    """
    lr = as_scalar(lr, "lr", positive=True)
    if set(params) != set(grads):
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ValueError(
            "params and grads must name the same parameters; "
            + (f"no gradient for {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"gradients for unknown parameters {extra}" if extra else "")
            + "."
        )
    new = {}
    for name, value in params.items():
        param = as_array(value, f"params[{name!r}]")
        grad = as_array(grads[name], f"grads[{name!r}]")
        same_shape(grad, param, f"grads[{name!r}]", f"params[{name!r}]", "one gradient per entry")
        new[name] = param - lr * grad
    return new
