"""The toy model of superposition (Elhage et al., 2022), small enough to train in a second.

n features are squeezed into m < n dimensions and read back out: h = W x, x' = ReLU(Wᵀ h + b).
W is m x n, so column i is feature i's direction in the small space (columns are features, as
the decoder columns of an SAE). Feature i is present with probability 1 - S, with a magnitude
drawn from U[0, 1]; the loss weighs feature i's squared error by its importance I_i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ToyModel:
    """W: (m, n), column i = feature i's direction; b: (n,); sparsity S; importance: (n,)."""

    W: np.ndarray
    b: np.ndarray
    sparsity: float
    importance: np.ndarray

    def norms(self) -> np.ndarray:
        """How strongly each feature is represented: the length of its column of W."""
        return np.linalg.norm(self.W, axis=0)

    def interference(self) -> np.ndarray:
        """WᵀW (n x n): the diagonal is each feature's squared length, the rest how much
        features overlap (and so interfere) in the small space."""
        return self.W.T @ self.W


def sample_features(n: int, batch: int, sparsity: float, rng: np.random.Generator) -> np.ndarray:
    """A batch of feature vectors as rows (batch, n): each present with probability 1 - S."""
    present = rng.random((batch, n)) >= sparsity
    return present * rng.random((batch, n))


def train_toy_model(
    n: int = 5,
    m: int = 2,
    sparsity: float = 0.0,
    importance: np.ndarray | None = None,
    steps: int = 3000,
    batch: int = 1024,
    lr: float = 1e-2,
    seed: int = 0,
) -> ToyModel:
    """Train W and b with Adam on freshly drawn batches; importance defaults to 0.9 ** i."""
    import torch

    importance = 0.9 ** np.arange(n) if importance is None else np.asarray(importance, float)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    W = torch.nn.Parameter(torch.randn(m, n, dtype=torch.float64) * 0.1)
    b = torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))
    weights = torch.tensor(importance)
    optimizer = torch.optim.Adam([W, b], lr=lr)
    for _ in range(steps):
        x = torch.tensor(sample_features(n, batch, sparsity, rng))
        x_hat = torch.relu(x @ W.T @ W + b)  # rows are samples here: (batch, n)
        loss = (weights * (x - x_hat) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return ToyModel(W.detach().numpy().copy(), b.detach().numpy().copy(), sparsity, importance)
