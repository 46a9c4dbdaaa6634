"""Data with planted features, and the numbers that say how well an SAE recovered them.

Columns are samples, as everywhere in the course: X is d x n, F is n_latents x n, and a
dictionary of directions is d x n_directions (one direction per column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PlantedData:
    """X: (d, n) samples as columns; directions: (d, n_true) unit columns; codes: (n_true, n)."""

    X: np.ndarray
    directions: np.ndarray
    codes: np.ndarray


def planted_features(
    d: int = 32, n_true: int = 64, n_samples: int = 4096, active: float = 4.0, seed: int = 0
) -> PlantedData:
    """Sharkey et al.-style data: n_true random unit directions in d dims; each sample switches
    each one on with probability active / n_true (so `active` are on, on average), with a
    magnitude drawn from U[0, 1], and adds them up."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(d, n_true))
    directions /= np.linalg.norm(directions, axis=0)
    on = rng.random((n_true, n_samples)) < active / n_true
    codes = on * rng.random((n_true, n_samples))
    return PlantedData(directions @ codes, directions, codes)


def l0(F: np.ndarray) -> float:
    """The mean number of active (non-zero) latents per sample. F: (n_latents, n)."""
    return float((np.asarray(F) != 0).sum(axis=0).mean())


def variance_explained(X: np.ndarray, X_hat: np.ndarray) -> float:
    """1 - sum ||x - x'||^2 / sum ||x - mean(x)||^2 over the samples (columns)."""
    residual = ((X - X_hat) ** 2).sum()
    total = ((X - X.mean(axis=1, keepdims=True)) ** 2).sum()
    return float(1 - residual / total)


def cosine_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of every column of A with every column of B: (A cols, B cols)."""
    A = A / np.maximum(np.linalg.norm(A, axis=0), 1e-12)
    B = B / np.maximum(np.linalg.norm(B, axis=0), 1e-12)
    return A.T @ B


def mmcs(learned: np.ndarray, true: np.ndarray) -> float:
    """Mean max cosine similarity: for each true direction, its best match among the learned
    decoder columns, averaged over the true directions."""
    return float(cosine_matrix(true, learned).max(axis=1).mean())


def recovered(learned: np.ndarray, true: np.ndarray, threshold: float = 0.9) -> float:
    """The fraction of true directions with some learned column at cosine > threshold."""
    return float((cosine_matrix(true, learned).max(axis=1) > threshold).mean())


def matched_latents(
    learned: np.ndarray, true: np.ndarray, F: np.ndarray, threshold: float = 0.9
) -> float:
    """The other way round from `recovered` (learned -> true): the share of the live latents
    (rows of F that fire) whose decoder column is within cosine `threshold` of a true direction."""
    live = (np.asarray(F) > 0).any(axis=1)
    best = cosine_matrix(learned, true).max(axis=1)
    return float((best[live] > threshold).mean())


def duplicated(learned: np.ndarray, true: np.ndarray, threshold: float = 0.9) -> int:
    """How many true directions have two or more learned columns within cosine `threshold`."""
    return int(((cosine_matrix(true, learned) > threshold).sum(axis=1) >= 2).sum())


def off_match_firing(learned: np.ndarray, true: np.ndarray, F: np.ndarray) -> float:
    """The share of all firings (entries F > 0) made by latents that are no true direction's
    best match: activity that `recovered` and MMCS never look at."""
    fires = (np.asarray(F) > 0).sum(axis=1)
    others = np.setdiff1d(np.arange(fires.size), cosine_matrix(true, learned).argmax(axis=1))
    return float(fires[others].sum() / max(fires.sum(), 1))


def dead_latents(F: np.ndarray) -> np.ndarray:
    """Which latents never fire on these samples: a boolean per latent (row of F)."""
    return ~(np.asarray(F) > 0).any(axis=1)


def matched_magnitudes(
    W_dec: np.ndarray, F: np.ndarray, data: PlantedData, silent_as_zero: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(true, learned) magnitudes of each planted feature where it is on and its best-matching
    latent fires: the planted magnitude, and the latent's activation times its decoder length
    (how far the SAE moves along that direction). silent_as_zero: also where the latent stays
    silent, which then reports 0. W_dec: (d, m); F: (m, n) on data.X."""
    match = cosine_matrix(data.directions, W_dec).argmax(axis=1)
    lengths = np.linalg.norm(W_dec, axis=0)
    true, learned = [], []
    for i, j in enumerate(match):
        fires = (data.codes[i] > 0) & ((F[j] > 0) | silent_as_zero)
        true.append(data.codes[i, fires])
        learned.append(F[j, fires] * lengths[j])
    return np.concatenate(true), np.concatenate(learned)


def auxk_loss(W_enc, b_enc, W_dec, X: np.ndarray, X_hat: np.ndarray, dead, k_aux: int) -> float:
    """The auxiliary loss of TopK SAEs (Gao et al., 2024): the k_aux largest positive
    pre-activations among the dead latents (indices), decoded without b_dec, should rebuild the
    residual X - X_hat (d, n). Squared error summed over dimensions, averaged over samples."""
    dead = np.asarray(dead)
    Z = W_enc[dead] @ X + b_enc[dead][:, None]
    k = min(k_aux, dead.size)
    kth = -np.partition(-Z, k - 1, axis=0)[k - 1]
    F = np.where((Z >= kth) & (Z > 0), Z, 0.0)
    return float((((X - X_hat) - W_dec[:, dead] @ F) ** 2).sum(axis=0).mean())
