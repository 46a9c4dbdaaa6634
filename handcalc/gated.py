"""Gated SAEs (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse
Autoencoders", https://arxiv.org/abs/2404.16014), by hand and in torch.

Two paths read the same input x̃ = x − b_dec (columns are samples, X̃ is d x n):

    gate:       Π_gate = W_gate X̃ + b_gate         which latents fire: those with Π_gate > 0
    magnitude:  Π_mag  = W_mag X̃ + b_mag,  W_mag = exp(r_mag) ⊙ W_gate (each row rescaled)
    F = H(Π_gate) ⊙ ReLU(Π_mag),   X' = W_dec F + b_dec

The gate's H passes no gradient, so the gate learns from two terms of its own: an L1 penalty on
ReLU(Π_gate), and an auxiliary reconstruction from ReLU(Π_gate) through a frozen copy of the
decoder (the decoder gets no gradient from it):

    loss = mean over samples of ||x − x'||² + lam Σ_i ReLU(π_gate,i) + ||x − x'_aux||²

In an SAE object W_gate and b_gate are W_enc and b_enc.
"""

from __future__ import annotations

import numpy as np

from .backward import linear_backward
from .steps import linear, mse_grad


def magnitudes(sae, X_in: np.ndarray) -> np.ndarray:
    """Π_mag (m, n) for the encoder's input X_in = X − b_dec."""
    return linear(np.exp(sae.r_mag)[:, None] * sae.W_enc, sae.b_mag, X_in)


def features(gate: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """F = H(Π_gate) ⊙ ReLU(Π_mag)."""
    return (gate > 0) * np.maximum(magnitude, 0)


def gradients(sae, X: np.ndarray, lam: float):
    """Loss, gradients (W_enc, b_enc, W_dec, b_dec, r_mag, b_mag), F and X', averaged over the
    n samples of X (d, n)."""
    n = X.shape[1]
    X_in = X - sae.b_dec[:, None]
    gate = linear(sae.W_enc, sae.b_enc, X_in)
    W_mag = np.exp(sae.r_mag)[:, None] * sae.W_enc
    magnitude = linear(W_mag, sae.b_mag, X_in)
    F = features(gate, magnitude)
    X_hat = linear(sae.W_dec, sae.b_dec, F)
    G = np.maximum(gate, 0)
    X_aux = linear(sae.W_dec, sae.b_dec, G)
    loss = (((X_hat - X) ** 2).sum() + lam * G.sum() + ((X_aux - X) ** 2).sum()) / n
    dW_dec, db_dec, dF = linear_backward(mse_grad(X_hat, X) / n, sae.W_dec, F)
    dG = sae.W_dec.T @ (mse_grad(X_aux, X) / n) + lam / n  # the frozen decoder's part, and L1
    dgate = dG * (gate > 0)
    dmagnitude = dF * (gate > 0) * (magnitude > 0)
    dW_mag, db_mag, dX_mag = linear_backward(dmagnitude, W_mag, X_in)
    dW_gate, db_gate, dX_gate = linear_backward(dgate, sae.W_enc, X_in)
    grads = {
        "W_enc": dW_gate + np.exp(sae.r_mag)[:, None] * dW_mag,
        "b_enc": db_gate,
        "W_dec": dW_dec,
        "b_dec": db_dec - (dX_mag + dX_gate).sum(axis=1),  # the encoder reads x - b_dec
        "r_mag": (dW_mag * W_mag).sum(axis=1),
        "b_mag": db_mag,
    }
    return float(loss), grads, F, X_hat


def torch_loss(p: dict, x, lam: float):
    """The same loss in torch for autograd: (loss, f, x_hat); p: the parameters by name."""
    import torch

    x_in = x - p["b_dec"][:, None]
    gate = p["W_enc"] @ x_in + p["b_enc"][:, None]
    magnitude = (torch.exp(p["r_mag"])[:, None] * p["W_enc"]) @ x_in + p["b_mag"][:, None]
    f = (gate > 0) * torch.relu(magnitude)
    x_hat = p["W_dec"] @ f + p["b_dec"][:, None]
    g = torch.relu(gate)
    x_aux = p["W_dec"].detach() @ g + p["b_dec"].detach()[:, None]
    n = x.shape[1]
    loss = (((x_hat - x) ** 2).sum() + lam * g.sum() + ((x_aux - x) ** 2).sum()) / n
    return loss, f, x_hat
