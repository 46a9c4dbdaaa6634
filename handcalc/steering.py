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
    exactly; decode(f, error, like) returns like's dtype. Shapes (..., width) and (..., latents)."""
    W_enc, b_enc, W_dec, b_dec = (torch.from_numpy(p) for p in sae.params().values())
    mean, scale = torch.from_numpy(acts.mean), acts.scale

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x.double() - mean) / scale
        pre = z @ W_enc.T + b_enc
        passes = pre > 0
        if sae.k is not None:
            passes &= pre >= torch.topk(pre, sae.k, dim=-1).values[..., -1:]
        f = pre * passes
        return f, z - (f @ W_dec.T + b_dec)

    def decode(f: torch.Tensor, error: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return ((f @ W_dec.T + b_dec + error) * scale + mean).to(like.dtype)

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
