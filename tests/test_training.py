"""The training loop is the sheet's step repeated: it agrees with the trace and with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import handcalc as hc
from handcalc.training import autoencoder_step, init_layers, reconstruct, train_autoencoder


def test_one_step_is_the_traces_update() -> None:
    problem = hc.autoencoder_problem()
    trace = hc.autoencoder_trace(problem)
    loss, new = autoencoder_step(problem.layers, problem.X, problem.lr, reduction="sum")
    assert loss == trace["loss"]
    for k, (W, b) in enumerate(new, start=1):
        assert np.array_equal(W, trace[f"W{k}_new"]) and np.array_equal(b, trace[f"b{k}_new"])


def test_reconstruct_is_the_forward_pass() -> None:
    problem = hc.autoencoder_problem(5)
    assert np.array_equal(
        reconstruct(problem.layers, problem.X), hc.autoencoder_trace(problem)["X_hat"]
    )


def test_training_matches_torch_step_for_step() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 20))
    layers = init_layers([6, 4, 2, 4, 6], seed=2)
    trained, losses = train_autoencoder(layers, X, steps=30, lr=0.5)

    model = nn.Sequential(
        nn.Linear(6, 4),
        nn.ReLU(),
        nn.Linear(4, 2),
        nn.ReLU(),
        nn.Linear(2, 4),
        nn.ReLU(),
        nn.Linear(4, 6),
    ).double()
    with torch.no_grad():
        for layer, (W, b) in zip(model[::2], layers, strict=True):
            layer.weight.copy_(torch.tensor(W)), layer.bias.copy_(torch.tensor(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.tensor(X.T)
    torch_losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), x)
        loss.backward()
        optimizer.step()
        torch_losses.append(loss.item())
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-10)
    for layer, (W, _) in zip(model[::2], trained, strict=True):
        np.testing.assert_allclose(layer.weight.detach().numpy(), W, rtol=1e-9, atol=1e-12)
    assert losses[-1] < losses[0]


def test_init_is_seeded() -> None:
    a, b = init_layers([4, 3, 4], seed=0), init_layers([4, 3, 4], seed=0)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))


def test_lesson_04_the_canonical_autoencoder_loses_a_unit() -> None:
    """Lesson 04: after 300 steps the loss has fallen but levels off well above zero; three of
    the four samples share the code (0, 0) and the second bottleneck unit never fires."""
    problem = hc.autoencoder_problem()
    trained, losses = train_autoencoder(problem.layers, problem.X, steps=300, lr=0.01,
                                        reduction="sum")  # fmt: skip
    assert losses[-1] < losses[0] and losses[-1] > 1 and abs(losses[-1] - losses[-50]) < 0.05
    H = problem.X
    for W, b in trained[:2]:
        H = np.maximum(W @ H + b[:, None], 0)
    assert (~H.any(axis=0)).sum() == 3 and not H[1].any()


@pytest.mark.parametrize("seed", range(5))
def test_lesson_04_reconstruction_error_flags_other_digits(seed: int) -> None:
    """Lesson 04, for the lesson's starting weights (seed 0) and four others: trained on fours,
    the autoencoder rebuilds unseen fours better than other digits (AUROC above 0.95), the
    threshold from the training fours lies between the two groups' typical scores, and PCA with
    8 components, the linear baseline, scores an AUROC at least as high."""
    from sklearn.datasets import load_digits
    from sklearn.metrics import roc_auc_score

    digits = load_digits()
    images, labels = digits.data / 16.0, digits.target
    fours = np.random.default_rng(0).permutation(np.flatnonzero(labels == 4))
    train, test = fours[: 2 * len(fours) // 3], fours[2 * len(fours) // 3 :]
    others = np.flatnonzero(labels != 4)
    layers, _ = train_autoencoder(init_layers([64, 32, 8, 32, 64], seed=seed), images[train].T,
                                  steps=2000, lr=1.0)  # fmt: skip

    def scores(X: np.ndarray) -> np.ndarray:
        return ((reconstruct(layers, X) - X) ** 2).sum(axis=0)

    threshold = np.quantile(scores(images[train].T), 0.95)
    normal, anomalies = scores(images[test].T), scores(images[others].T)
    truth = np.r_[np.zeros(len(normal)), np.ones(len(anomalies))]
    auroc = roc_auc_score(truth, np.r_[normal, anomalies])
    assert auroc > 0.95
    assert np.median(normal) < threshold < np.median(anomalies)
    # The linear baseline: PCA with as many components as the code, on the same training fours.
    mean = images[train].mean(axis=0)[:, None]
    U = np.linalg.svd(images[train].T - mean, full_matrices=False)[0][:, :8]

    def residual(X: np.ndarray) -> np.ndarray:
        centred = X - mean
        return ((centred - U @ (U.T @ centred)) ** 2).sum(axis=0)

    linear = roc_auc_score(truth, np.r_[residual(images[test].T), residual(images[others].T)])
    assert linear >= auroc
