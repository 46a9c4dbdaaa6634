"""The training loop is the sheet's step repeated: it agrees with the trace and with PyTorch."""

from __future__ import annotations

import numpy as np
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
