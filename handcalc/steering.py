"""Steering the language model through an SAE's features (lesson 09), the Golden Gate recipe:

    z  = (x - mean) / scale            the activation in the SAE's normalised units
    f  = SAE.encode(z)                 its features
    e  = z - SAE.decode(f)             the error term: what the SAE does not explain
    z' = SAE.decode(change(f)) + e     the edited features, decoded, with the error put back
    x' = z' * scale + mean

With change = identity, x' = x exactly. Keeping e means the edit changes only what the features
carry; leaving it out also throws away everything the SAE fails to reconstruct.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .features import Activations
from .lm import Edit
from .trainer import SAE

Change = Callable[[torch.Tensor], torch.Tensor]  # features (..., latents) -> features


def steer(
    z: np.ndarray, f: np.ndarray, W_dec: np.ndarray, b_dec: np.ndarray, latent: int, value: float
) -> np.ndarray:
    """By hand, columns as samples: decode f with feature `latent` set to `value`, plus the
    error term z - decode(f). z: (d, n), f: (m, n), W_dec: (d, m), b_dec: (d,)."""
    error = z - (W_dec @ f + b_dec[:, None])
    clamped = f.copy()
    clamped[latent] = value
    return W_dec @ clamped + b_dec[:, None] + error


def clamp(latent: int, value: float) -> Change:
    """Set one feature to `value` at every position."""

    def change(f: torch.Tensor) -> torch.Tensor:
        f = f.clone()
        f[..., latent] = value
        return f

    return change


def ablate(*latents: int) -> Change:
    """Set these features to 0 at every position."""
    return lambda f: f.index_fill(-1, torch.tensor(latents), 0.0)


def torch_codec(sae: SAE, acts: Activations):
    """The SAE in torch, in the model's units: encode(x) -> (f, error) with x = decode(f, error)
    exactly; decode(f, error, like) returns like's dtype. Shapes (..., width) and (..., latents).
    Every method and option encodes as SAE.encode does."""
    p = {name: torch.from_numpy(value) for name, value in sae.params().items()}
    mean, scale = torch.from_numpy(acts.mean), acts.scale

    def features(z_in: torch.Tensor) -> torch.Tensor:
        pre = z_in @ p["W_enc"].T + p["b_enc"]
        if sae.r_mag is not None:  # Gated: the gate decides, the magnitude path sizes
            magnitude = z_in @ (p["r_mag"].exp()[:, None] * p["W_enc"]).T + p["b_mag"]
            return (pre > 0) * torch.relu(magnitude)
        if sae.log_threshold is not None:  # JumpReLU
            return pre * (pre > p["log_threshold"].exp())
        if sae.batch_topk and sae.threshold is not None:  # BatchTopK at inference
            return pre * (pre > sae.threshold)
        passes = pre > 0
        if sae.batch_topk and sae.k is not None:
            flat = pre.reshape(-1, pre.shape[-1])
            count = sae.k * flat.shape[0]
            if count < flat.numel():
                passes &= pre >= torch.topk(flat.flatten(), count).values[-1]
        elif sae.k is not None and sae.k < pre.shape[-1]:
            passes &= pre >= torch.topk(pre, sae.k, dim=-1).values[..., -1:]
        return pre * passes

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x.double() - mean) / scale
        f = features(z - p["b_dec"] if sae.pre_bias else z)
        return f, z - (f @ p["W_dec"].T + p["b_dec"])

    def decode(f: torch.Tensor, error: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return ((f @ p["W_dec"].T + p["b_dec"] + error) * scale + mean).to(like.dtype)

    return encode, decode


def sae_edit(
    sae: SAE, acts: Activations, change: Change | None = None, keep_error: bool = True
) -> Edit:
    """An edit for TinyLM.forward at the site the SAE was trained on (acts: its normalisation)."""
    encode, decode = torch_codec(sae, acts)

    def edit(x: torch.Tensor) -> torch.Tensor:
        f, error = encode(x)
        f = change(f) if change else f
        return decode(f, error if keep_error else torch.zeros_like(error), x)

    return edit


def mean_difference(A: np.ndarray, holds: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A steering vector from labels: the mean of A's columns (d, tokens) where `holds`, minus
    the mean where `other` (booleans, one per token). Shape (d,)."""
    return A[:, holds].mean(axis=1) - A[:, other].mean(axis=1)
