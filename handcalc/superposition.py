"""The toy model of superposition (Elhage et al., 2022), small enough to train in a second.

n features are squeezed into m < n dimensions and read back out: h = W x, x' = ReLU(Wᵀ h + b).
W is m x n, so column i is feature i's direction in the small space (columns are features, as
the decoder columns of an SAE). Feature i is present with probability 1 - S, with a magnitude
drawn from U[0, 1]; the loss weighs feature i's squared error by its importance I_i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class ToyModel:
    """W: (m, n), column i = feature i's direction; b: (n,); sparsity S; importance: (n,)."""

    W: np.ndarray
    b: np.ndarray
    sparsity: float
    importance: np.ndarray
    relu: bool = True

    def norms(self) -> np.ndarray:
        """How strongly each feature is represented: the length of its column of W."""
        return np.linalg.norm(self.W, axis=0)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """x' for every column x of X (n x samples): ReLU(WᵀW x + b), or without the ReLU."""
        out = self.W.T @ (self.W @ X) + self.b[:, None]
        return np.maximum(out, 0.0) if self.relu else out

    def loss(self, X: np.ndarray) -> float:
        """The training loss on X (n x samples): importance-weighted squared error, summed over
        features, averaged over samples."""
        return float((self.importance[:, None] * (X - self.forward(X)) ** 2).sum(axis=0).mean())

    def kept(self, threshold: float = 0.5) -> np.ndarray:
        """The features the model represents (column of W longer than threshold), from 0."""
        return np.flatnonzero(self.norms() > threshold)

    def interference(self) -> np.ndarray:
        """WᵀW (n x n): the diagonal is each feature's squared length, the rest how much
        features overlap (and so interfere) in the small space."""
        return self.W.T @ self.W


def sample_features(n: int, batch: int, sparsity: float, rng: np.random.Generator) -> np.ndarray:
    """A batch of feature vectors as rows (batch, n): each present with probability 1 - S."""
    present = rng.random((batch, n)) >= sparsity
    return present * rng.random((batch, n))


def train_toy_models(
    n: int = 5,
    m: int = 2,
    sparsity: float = 0.0,
    importance: np.ndarray | None = None,
    steps: int = 3000,
    batch: int = 1024,
    lr: float = 1e-2,
    seeds: Sequence[int] = (0,),
    data_seed: int = 0,
    relu: bool = True,
) -> list[ToyModel]:
    """One model per seed, trained side by side with Adam on the same freshly drawn batches
    (from data_seed); the seed sets a model's starting W. Importance defaults to 0.9 ** i.
    relu=False trains the linear model x' = WᵀW x + b instead (it cannot filter interference)."""
    import torch

    importance = 0.9 ** np.arange(n) if importance is None else np.asarray(importance, float)
    rng = np.random.default_rng(data_seed)
    start = []
    for seed in seeds:
        torch.manual_seed(seed)
        start.append(torch.randn(m, n, dtype=torch.float64) * 0.1)
    W = torch.nn.Parameter(torch.stack(start))  # (models, m, n)
    b = torch.nn.Parameter(torch.zeros(len(seeds), 1, n, dtype=torch.float64))
    weights = torch.tensor(importance)
    optimizer = torch.optim.Adam([W, b], lr=lr)
    for _ in range(steps):
        x = torch.tensor(sample_features(n, batch, sparsity, rng))  # rows are samples here
        x_hat = x @ W.transpose(1, 2) @ W + b  # (models, batch, n)
        x_hat = torch.relu(x_hat) if relu else x_hat
        loss = (weights * (x - x_hat) ** 2).sum(dim=2).mean(dim=1).sum()  # each model's own
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [
        ToyModel(W[i].detach().numpy().copy(), b[i, 0].detach().numpy().copy(), sparsity,
                 importance, relu)
        for i in range(len(seeds))
    ]  # fmt: skip


def train_toy_model(seed: int = 0, **settings) -> ToyModel:
    """One model (train_toy_models' settings), its start and its batches from `seed`."""
    return train_toy_models(seeds=(seed,), data_seed=seed, **settings)[0]


def held_out_losses(models: Sequence[ToyModel], samples: int = 20_000, seed: int = 1) -> np.ndarray:
    """Each model's loss on one set of new samples at their (shared) sparsity."""
    X = sample_features(models[0].W.shape[1], samples, models[0].sparsity,
                        np.random.default_rng(seed)).T  # fmt: skip
    return np.array([model.loss(X) for model in models])


def lowest_loss(models: Sequence[ToyModel]) -> ToyModel:
    """The model with the lowest held-out loss: training can settle in a worse arrangement, so
    of several runs keep the best."""
    return models[int(np.argmin(held_out_losses(models)))]


def geometry(model: ToyModel, tolerance: float = 10.0) -> str:
    """The shape the kept feature directions make in 2-D, read off their angles: "2 features at
    right angles", "an antipodal pair", "a square", "a pentagon", or "k directions"."""
    if model.W.shape[0] != 2:
        raise ValueError(f"geometry reads 2-D pictures; W has {model.W.shape[0]} rows.")
    kept = model.kept()
    angles = np.sort(np.degrees(np.arctan2(model.W[1, kept], model.W[0, kept])))
    gaps = np.diff(np.r_[angles, angles[:1] + 360]) if len(kept) else np.array([])

    def near(values: np.ndarray, target: float) -> bool:
        return bool(np.all(np.abs(values - target) < tolerance))

    k = len(kept)
    if k == 2 and near(np.minimum(gaps, 360 - gaps), 90):
        return "2 features at right angles"
    if k == 2 and near(gaps, 180):
        return "an antipodal pair"
    if k >= 3 and near(gaps, 360 / k):
        return {3: "a triangle", 4: "a square", 5: "a pentagon"}.get(k, f"a regular {k}-gon")
    return f"{k} directions"


def hidden_activations(
    model: ToyModel, samples: int = 20_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(X, H): feature vectors that have at least one feature present (n x samples) at the
    model's sparsity, and the hidden activations H = W X (m x samples) an SAE would see."""
    X = sample_features(model.W.shape[1], samples, model.sparsity, np.random.default_rng(seed)).T
    X = X[:, X.any(axis=0)]
    return X, model.W @ X


def rotate(W: np.ndarray, degrees: float) -> np.ndarray:
    """R W: the columns of W (2 x n) turned by `degrees` counter-clockwise in the plane."""
    theta = np.radians(degrees)
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) @ W
