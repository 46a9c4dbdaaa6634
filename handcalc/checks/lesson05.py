"""Lesson 05's code-exercise checks: the toy model of superposition."""

from __future__ import annotations

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..mistakes import Suspect
from ..recording import judged
from .core import _listed, compare


@judged()
def check_toy_forward(answer: ArrayLike, W: ArrayLike, b: ArrayLike, X: ArrayLike) -> Feedback:
    """Check x' = ReLU(Wᵀ W x + b) for every column x of X (lesson 05)."""
    W, b, X = (np.asarray(x, dtype=float) for x in (W, b, X))
    inner = W.T @ (W @ X) + b[:, None]

    def mistakes() -> list[Suspect]:
        return _listed("toy_forward", [
            ("You left out the ReLU: x' = ReLU(WᵀW x + b). The ReLU is what filters out the "
             "small interference between features.", inner),
            ("You left out the bias b: x' = ReLU(WᵀW x + b). Its negative entries are what let "
             "the ReLU cut the interference off.", np.maximum(W.T @ (W @ X), 0)),
            ("You stopped at the hidden layer h = W x (m numbers per sample); read it back out: "
             "ReLU(Wᵀ h + b).", W @ X),
        ] + ([
            ("The bias went in as a row: b has one entry per feature, that is per row of "
             "WᵀW X, so add it down every column, b[:, None].",
             np.maximum(W.T @ (W @ X) + b[None, :], 0)),
        ] if X.shape[1] == b.size else []))  # fmt: skip

    return compare(answer, np.maximum(inner, 0), "x'", mistakes)


@judged()
def check_interference(answer: ArrayLike, W: ArrayLike) -> Feedback:
    """Check WᵀW, the features' overlaps (lesson 05)."""
    W = np.asarray(W, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("interference", [
            ("That is W Wᵀ (m x m): how the dimensions overlap. The features are the columns, "
             "so their overlaps are WᵀW (n x n).", W @ W.T),
            ("Those are only the squared lengths (the diagonal); the off-diagonal entries, the "
             "overlaps, are the interference.", np.diag((W**2).sum(axis=0))),
        ])  # fmt: skip

    return compare(answer, W.T @ W, "WᵀW", mistakes)


@judged()
def check_rotation(answer: ArrayLike, W: ArrayLike, degrees: float) -> Feedback:
    """Check R W, W's columns rotated by `degrees` in the hidden plane (lesson 05)."""
    from ..superposition import rotate

    W = np.asarray(W, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("rotation", [
            (f"np.cos and np.sin take radians: convert {degrees:g}° first, np.radians(degrees).",
             rotate(W, np.degrees(degrees))),
            ("That rotates the other way (by −θ): R = [[cos θ, −sin θ], [sin θ, cos θ]].",
             rotate(W, -degrees)),
        ])  # fmt: skip

    return compare(answer, rotate(W, degrees), "W rotated", mistakes)


@judged(many=True)
def check_toy_gradients(answer, W: ArrayLike, b: ArrayLike, X: ArrayLike, importance) -> list:
    """Check (loss, dW, db) of lesson 05's toy model on X (n x samples): the mean over samples of
    Σ_i I_i (x_i − x'_i)², x' = ReLU(WᵀW x + b); the gradients from PyTorch's autograd."""
    import torch

    W, b, X, importance = (np.asarray(v, dtype=float) for v in (W, b, X, importance))
    if not isinstance(answer, tuple) or len(answer) != 3:
        return [Feedback(False, "Return three things: the loss, dW and db.")]
    w, bias = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    x = torch.from_numpy(X)
    x_hat = torch.relu(w.T @ (w @ x) + bias[:, None])
    loss = (torch.from_numpy(importance)[:, None] * (x - x_hat) ** 2).sum(0).mean()
    loss.backward()
    Z = W.T @ W @ X + b[:, None]
    X_hat = np.maximum(Z, 0)
    n = X.shape[1]

    def parts(dX_hat: np.ndarray, mask: bool = True) -> tuple[np.ndarray, np.ndarray]:
        dZ = dX_hat * (Z > 0) if mask else dX_hat
        return W @ (X @ dZ.T + dZ @ X.T), dZ.sum(axis=1)

    weighted = 2 * importance[:, None] * (X_hat - X) / n
    dZ = weighted * (Z > 0)
    one_use = (W @ dZ @ X.T, W @ X @ dZ.T)  # each of W's two uses alone
    twice = ("W is used twice, in h = W x and in x' = ReLU(Wᵀ h + b): its gradient has two parts, "
             "W (X dZᵀ + dZ Xᵀ); you have one.")  # fmt: skip

    def slips(which: int):
        def mistakes() -> list[Suspect]:
            return _listed(f"toy_gradients.{'dW' if which == 0 else 'db'}", [
                (twice, one_use[0] if which == 0 else parts(weighted)[1]),
                (twice, one_use[1] if which == 0 else parts(weighted)[1]),
                ("The importance weights are missing: each feature's error is weighted by I_i.",
                 parts(2 * (X_hat - X) / n)[which]),
                ("The ReLU's mask is missing: the gradient passes only where WᵀW x + b > 0.",
                 parts(weighted, mask=False)[which]),
                ("The loss is a mean over samples: divide the gradient by their number too.",
                 parts(weighted * n)[which]),
            ])  # fmt: skip

        return mistakes

    loss_answer, dW, db = answer
    return [
        compare(loss_answer, loss.item(), "the loss"),
        compare(dW, w.grad.numpy(), "dW", slips(0), axes=("hidden dim", "feature")),
        compare(db, bias.grad.numpy(), "db", slips(1)),
    ]
