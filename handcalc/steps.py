"""The forward steps and losses of the worksheets, one function each.

Conventions (the same on every sheet): columns are samples, so `X` is features x samples; a
weight matrix is outputs x inputs; a bias is one number per output, broadcast over the samples.
Every function returns float64 arrays (or a float), whatever numbers it was given.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    ArrayLike,
    as_array,
    as_column,
    as_matrix,
    as_scalar,
    reduction_name,
    same_shape,
)


def _layer_args(W: ArrayLike, b: ArrayLike, X: ArrayLike) -> tuple[np.ndarray, ...]:
    W = as_matrix(W, "W", "outputs x inputs")
    X = as_matrix(X, "X", "features x samples: one column per sample")
    if X.shape[0] != W.shape[1]:
        hint = ""
        if X.shape[1] == W.shape[1]:
            hint = " X.T would fit: did you put samples in rows? On the sheet, columns are samples."
        raise ValueError(
            f"W has shape {W.shape}, so X needs {W.shape[1]} rows, one per input feature; "
            f"got X with shape {X.shape}.{hint}"
        )
    b = as_column(b, "b", W.shape[0], "W")
    return W, b, X


def linear(W: ArrayLike, b: ArrayLike, X: ArrayLike) -> np.ndarray:
    """Z = W X + b. W: (out, in), b: (out,) or (out, 1), X: (in, samples) -> Z: (out, samples)."""
    W, b, X = _layer_args(W, b, X)
    return W @ X + b[:, None]


def bias_trick(W: ArrayLike, b: ArrayLike, X: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The bias trick: ([W | b], [X ; 1]), so that [W | b] @ [X ; 1] == W X + b.

    W: (out, in) -> (out, in + 1) with b as its last column; X: (in, samples) -> (in + 1, samples)
    with a row of ones at the bottom.
    """
    W, b, X = _layer_args(W, b, X)
    return np.hstack([W, b[:, None]]), np.vstack([X, np.ones((1, X.shape[1]))])


def relu(Z: ArrayLike) -> np.ndarray:
    """ReLU, entry by entry: max(0, z). Any shape."""
    return np.maximum(as_array(Z, "Z"), 0.0)


def decoder_norms(W_dec: ArrayLike) -> np.ndarray:
    """The L2 length of each column of W_dec, one per feature: (d, n_features) -> (n_features,).

    Column j of the decoder is feature j's direction in activation space.
    """
    W_dec = as_matrix(W_dec, "W_dec", "activation dims x features: one column per feature")
    return np.sqrt((W_dec**2).sum(axis=0))


def _features_and_norms(F: ArrayLike, W_dec: ArrayLike | None, lam: float):
    F = as_matrix(F, "F", "features x samples")
    lam = as_scalar(lam, "lam")
    if W_dec is None:
        return F, lam, np.ones(F.shape[0])
    norms = decoder_norms(W_dec)
    if norms.shape[0] != F.shape[0]:
        raise ValueError(
            f"W_dec has {norms.shape[0]} columns (one per feature), so F needs {norms.shape[0]} "
            f"rows, one per feature; got F with shape {F.shape}."
        )
    return F, lam, norms


def l1_loss(F: ArrayLike, W_dec: ArrayLike | None = None, lam: float = 1) -> float:
    """lam * sum_i sum_n |F[i, n]| * ||W_dec[:, i]||  (the sum over every entry, no mean).

    F: (n_features, samples). Without W_dec the weights are 1: plain lam * sum |F|.
    """
    F, lam, norms = _features_and_norms(F, W_dec, lam)
    return float(lam * (np.abs(F) * norms[:, None]).sum())


def l1_grad(F: ArrayLike, W_dec: ArrayLike | None = None, lam: float = 1) -> np.ndarray:
    """d l1_loss / dF: lam * ||W_dec[:, i]|| * sign(F[i, n]), and 0 where F == 0.

    F: (n_features, samples) -> same shape. This is the true gradient; a gradient step moves F
    the opposite way, which is why some worksheets write "-1 for positive f".
    """
    F, lam, norms = _features_and_norms(F, W_dec, lam)
    return lam * np.sign(F) * norms[:, None]


def _mse_args(X_hat: ArrayLike, X: ArrayLike, reduction: str):
    X_hat = as_matrix(X_hat, "X_hat", "the reconstruction, features x samples")
    X = as_matrix(X, "X", "the target, features x samples")
    same_shape(X_hat, X, "X_hat", "X", "the reconstruction is compared entry by entry")
    return X_hat, X, reduction_name(reduction)


def mse(X_hat: ArrayLike, X: ArrayLike, reduction: str = "sum") -> float:
    """Reconstruction loss. "sum": sum of (X_hat - X)^2 (the sheet); "mean": that over X.size."""
    X_hat, X, reduction = _mse_args(X_hat, X, reduction)
    total = float(((X_hat - X) ** 2).sum())
    return total if reduction == "sum" else total / X.size


def mse_grad(X_hat: ArrayLike, X: ArrayLike, reduction: str = "sum") -> np.ndarray:
    """d mse / d X_hat: 2 (X_hat - X) for "sum", divided by X.size for "mean". Shape of X."""
    X_hat, X, reduction = _mse_args(X_hat, X, reduction)
    grad = 2 * (X_hat - X)
    return grad if reduction == "sum" else grad / X.size
