"""JumpReLU SAEs (Rajamanoharan et al. 2024, "Jumping Ahead: Improving Reconstruction Fidelity
with JumpReLU Sparse Autoencoders", https://arxiv.org/abs/2407.14435), by hand and in torch.

Each latent i has a threshold θ_i = exp(log_threshold_i) > 0. With Z = W_enc X + b_enc (m, n):

    F = Z · H(Z − θ)            (H: 1 where Z > θ, else 0: a pre-activation below θ is cut)
    loss = mean over samples of ||x − x'||² + lam · Σ_i H(z_i − θ_i)     (the L0 itself)

H has no useful derivative, so θ gets a pseudo-derivative from a straight-through estimator with
a rectangle kernel K(u) = 1 for |u| < 1/2 (else 0) of width ε (`bandwidth`):

    ∂F/∂θ := −(θ/ε) K((Z − θ)/ε)          ∂H/∂θ := −(1/ε) K((Z − θ)/ε)

Z gets F's ordinary derivative, H(Z − θ), and nothing from the L0 term. The trainer updates
log θ, so its gradient is θ times θ's.
"""

from __future__ import annotations

import numpy as np

BANDWIDTH = 0.01
START_THRESHOLD = 0.001  # θ at the start, as Gemma Scope's training did


def rectangle(U: np.ndarray) -> np.ndarray:
    """K(u): 1.0 where -1/2 < u < 1/2, else 0.0."""
    return ((U > -0.5) & (U < 0.5)).astype(float)


def jumprelu(Z: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """F = Z · H(Z − θ) for pre-activations Z (m, n) and thresholds θ (m,)."""
    return Z * (Z > threshold[:, None])


def threshold_grads(
    Z: np.ndarray, threshold: np.ndarray, dF: np.ndarray, lam: float, n: int, bandwidth: float
) -> np.ndarray:
    """dloss/dθ (m,): the reconstruction's part through F, dF · (−θ/ε) K, summed over the
    samples, and the L0 term's, lam/n · (−1/ε) K, summed over the samples."""
    kernel = rectangle((Z - threshold[:, None]) / bandwidth) / bandwidth
    return -(dF * threshold[:, None] * kernel).sum(axis=1) - lam / n * kernel.sum(axis=1)


def torch_functions(bandwidth: float):
    """(jumprelu(z, θ), step(z, θ)) as torch autograd functions with the pseudo-derivatives
    above: z gets H(z − θ) from jumprelu and nothing from step."""
    import torch

    class JumpReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z, theta):
            ctx.save_for_backward(z, theta)
            return z * (z > theta[:, None])

        @staticmethod
        def backward(ctx, grad):
            z, theta = ctx.saved_tensors
            kernel = ((z - theta[:, None]) / bandwidth).abs().lt(0.5).to(z.dtype) / bandwidth
            return grad * (z > theta[:, None]), -(grad * theta[:, None] * kernel).sum(dim=1)

    class Step(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z, theta):
            ctx.save_for_backward(z, theta)
            return (z > theta[:, None]).to(z.dtype)

        @staticmethod
        def backward(ctx, grad):
            z, theta = ctx.saved_tensors
            kernel = ((z - theta[:, None]) / bandwidth).abs().lt(0.5).to(z.dtype) / bandwidth
            return None, -(grad * kernel).sum(dim=1)

    return JumpReLU.apply, Step.apply
