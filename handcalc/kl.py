"""The KL sparsity penalty: pull each latent's firing rate towards a small target rate rho.

The penalty is the KL divergence between two coins, one that comes up "fires" with probability
rho and one with the latent's measured rate r:

    KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r)),

zero when r = rho, growing as r moves away on either side: busy latents are pushed down, and
rarely used ones are pulled back up. A rate must lie in (0, 1), but a ReLU latent can take any
size, so firing is measured softly: sample n counts as

    p = 1 - exp(-f ||W_dec[:, i]|| / tau)

of a firing (0 at f = 0, nearly 1 once f ||W_dec[:, i]|| is a few tau), and r_i is the mean of p
over the batch. The decoder length is in there for the same reason as in the L1 penalty: the
SAE cannot dodge the penalty by shrinking f and lengthening the decoder column.
Shapes: F is (m latents, n samples), W_dec is (d, m), rates are (m,).
"""

from __future__ import annotations

import numpy as np

TAU = 0.05  # activation x decoder length at which a sample counts as 1 - 1/e of a firing
RATE_RANGE = (1e-6, 1 - 1e-6)  # rates are clipped into this range before the logarithms


def soft_firing(F: np.ndarray, norms: np.ndarray, tau: float = TAU) -> np.ndarray:
    """p = 1 - exp(-F * norms / tau), (m, n): how much each sample counts as a firing."""
    return 1 - np.exp(-F * norms[:, None] / tau)


def bernoulli_kl(rho: float, rates: np.ndarray) -> np.ndarray:
    """KL(rho || r) for each rate r, (m,)."""
    r = np.clip(rates, *RATE_RANGE)
    return rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))


def kl_penalty(
    F: np.ndarray, W_dec: np.ndarray, rho: float, beta: float, tau: float = TAU
) -> tuple[float, np.ndarray, np.ndarray]:
    """beta * sum_i KL(rho || r_i), and its gradients with respect to F (m, n) and W_dec (d, m)."""
    norms = np.sqrt((W_dec**2).sum(axis=0))
    stays = np.exp(-F * norms[:, None] / tau)  # 1 - p
    rates = (1 - stays).mean(axis=1)
    inside = (rates >= RATE_RANGE[0]) & (rates <= RATE_RANGE[1])  # clipped rates pass no gradient
    r = np.clip(rates, *RATE_RANGE)
    d_rates = beta * (-rho / r + (1 - rho) / (1 - r)) * inside / F.shape[1]
    dF = d_rates[:, None] * stays * norms[:, None] / tau
    d_norms = d_rates * (stays * F).sum(axis=1) / tau
    return float(beta * bernoulli_kl(rho, rates).sum()), dF, W_dec * (d_norms / norms)
