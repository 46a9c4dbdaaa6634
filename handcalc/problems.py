"""The by-hand problems: an autoencoder's and an SAE's matrices, and the two canonical worked
examples (seed 0) the lessons use. Fresh problems from other seeds are drawn by `seeds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_column, as_matrix, as_scalar

CANONICAL = 0
LR = 0.01  # the learning rate of the one update step


def _stored(array: np.ndarray) -> np.ndarray:
    """Whole-number arrays are kept as integers, so a problem prints the way it is written."""
    return array.astype(np.int64) if np.array_equal(array, np.round(array)) else array


@dataclass
class AutoencoderProblem:
    """X: (d, samples), columns are samples. layers: [(W, b), ...], W: (out, in), b: (out,).

    The network is linear -> ReLU after every layer but the last; the last layer outputs d values
    (the reconstruction of X) with no ReLU, so it can go negative like the data.
    """

    X: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]
    lr: float = LR
    seed: int | None = None

    def __post_init__(self) -> None:
        X = as_matrix(self.X, "X", "features x samples")
        if not isinstance(self.layers, (list, tuple)) or not self.layers:
            raise ValueError("layers must be a non-empty list of (W, b) pairs, one per layer.")
        width, checked = X.shape[0], []
        for k, pair in enumerate(self.layers, start=1):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"layers[{k - 1}] must be a pair (W{k}, b{k}); got {pair!r}.")
            W = as_matrix(pair[0], f"W{k}", "outputs x inputs")
            if W.shape[1] != width:
                raise ValueError(
                    f"W{k} must have {width} columns, one per input of layer {k} "
                    f"(the {'features of X' if k == 1 else f'outputs of layer {k - 1}'}); "
                    f"got W{k} with shape {W.shape}."
                )
            b = as_column(pair[1], f"b{k}", W.shape[0], f"W{k}")
            checked.append((_stored(W), _stored(b)))
            width = W.shape[0]
        if width != X.shape[0]:
            raise ValueError(
                f"the last layer must output {X.shape[0]} values, one per feature of X, to "
                f"reconstruct it; it outputs {width}."
            )
        self.X, self.layers = _stored(X), checked
        self.lr = as_scalar(self.lr, "lr", positive=True)


@dataclass
class SAEProblem:
    """X: (d, tokens), one column per token. W_enc: (m, d), b_enc: (m,), W_dec: (d, m), b_dec: (d,).

    Column j of W_dec is feature j's direction. lam weighs the sparsity penalty. tokens optionally
    names the columns of X (the canonical problem does; generated ones do not).
    """

    X: np.ndarray
    W_enc: np.ndarray
    b_enc: np.ndarray
    W_dec: np.ndarray
    b_dec: np.ndarray
    lam: float = 1
    lr: float = LR
    seed: int | None = field(default=None)
    tokens: tuple[str, ...] = ()  # a name per token (column of X), if the problem gives them

    def __post_init__(self) -> None:
        X = as_matrix(self.X, "X", "activation dims x tokens")
        if self.tokens and len(self.tokens) != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} tokens (columns), so tokens needs {X.shape[1]} names; "
                f"got {len(self.tokens)}."
            )
        self.tokens = tuple(self.tokens)
        d = X.shape[0]
        W_enc = as_matrix(self.W_enc, "W_enc", "features x activation dims")
        if W_enc.shape[1] != d:
            raise ValueError(
                f"X has {d} rows (activation dims), so W_enc needs {d} columns; "
                f"got W_enc with shape {W_enc.shape}."
            )
        m = W_enc.shape[0]
        W_dec = as_matrix(self.W_dec, "W_dec", "activation dims x features")
        if W_dec.shape != (d, m):
            hint = " It looks transposed." if W_dec.shape == (m, d) else ""
            raise ValueError(
                f"W_dec must have shape ({d}, {m}): {d} activation dims x {m} features, column j "
                f"being feature j's direction; got {W_dec.shape}.{hint}"
            )
        self.X, self.W_enc, self.W_dec = _stored(X), _stored(W_enc), _stored(W_dec)
        self.b_enc = _stored(as_column(self.b_enc, "b_enc", m, "W_enc"))
        self.b_dec = _stored(as_column(self.b_dec, "b_dec", d, "W_dec"))
        self.lam = as_scalar(self.lam, "lam", positive=True)
        self.lr = as_scalar(self.lr, "lr", positive=True)


def canonical_autoencoder() -> AutoencoderProblem:
    """The worked example of lessons 02 and 03 (drawn once by the generator, then frozen here)."""
    return AutoencoderProblem(
        X=np.array([[-3, -1, -3, 1], [0, -2, -1, -2], [-3, 0, 1, 1], [0, -2, 3, 2]]),
        layers=[
            (np.array([[0, 1, 2, -1], [0, -1, 1, 0], [-2, 1, 1, -1]]), np.array([1, -1, 0])),
            (np.array([[2, 0, -1], [-1, -1, 1]]), np.array([1, -1])),
            (np.array([[1, -1], [-1, 2], [-1, 1]]), np.array([0, 0, 0])),
            (
                np.array([[0, -1, 1], [1, 1, -1], [2, 1, -2], [-1, -1, 1]]),
                np.array([-1, -2, -1, 2]),
            ),
        ],
        seed=CANONICAL,
    )


def canonical_sae() -> SAEProblem:
    """The worked example of lesson 06: drawn by the generator (seed 13092, one of the few whose
    every feature fires on one or two tokens), its tokens and features put in reading order and
    the tokens named after the pattern, then frozen here."""
    return SAEProblem(
        X=np.array([[-1, 1, 3, 0, -3], [0, 2, 0, -1, -2], [2, 1, 1, -1, -2]]),
        W_enc=np.array([[-1, 1, 2], [1, 1, -1], [1, 0, 0], [2, -1, -1], [-1, 0, -1], [-1, 0, 0]]),
        b_enc=np.array([0, -1, -2, 0, 0, -2]),
        W_dec=np.array([[0, 1, 0, 0, 0, -1], [1, 2, 0, 0, 0, 2], [0, -2, -1, 1, -1, 2]]),
        b_dec=np.array([0, -3, 1]),
        lam=1,
        seed=CANONICAL,
        tokens=("lake", "river", "bank", "loan", "money"),
    )
