"""Training an autoencoder with the hand-derived gradients: the sheet's one step, repeated.

Layers are [(W, b), ...] with W: (out, in), b: (out,); data X is features x samples. ReLU after
every layer but the last. The default loss is the mean over every entry (PyTorch's MSELoss
default), so the learning rate does not depend on how many samples there are.
"""

from __future__ import annotations

import itertools

import numpy as np

from .backward import linear_backward, relu_backward
from .steps import linear, mse, mse_grad, relu

Layers = list[tuple[np.ndarray, np.ndarray]]


def init_layers(sizes: list[int], seed: int) -> Layers:
    """Random layers for sizes [d, h1, ..., d]: He-scaled normal weights, zero biases."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out))
        for n_in, n_out in itertools.pairwise(sizes)
    ]


def reconstruct(layers: Layers, X: np.ndarray) -> np.ndarray:
    """The forward pass: X' for X, (d, samples) -> (d, samples)."""
    H = X
    for k, (W, b) in enumerate(layers):
        Z = linear(W, b, H)
        H = Z if k == len(layers) - 1 else relu(Z)
    return H


def autoencoder_step(
    layers: Layers, X: np.ndarray, lr: float, reduction: str = "mean"
) -> tuple[float, Layers]:
    """One gradient-descent step. Returns (the loss before the step, the updated layers)."""
    inputs, pre_activations = [np.asarray(X, dtype=float)], []
    for k, (W, b) in enumerate(layers):
        Z = linear(W, b, inputs[-1])
        pre_activations.append(Z)
        inputs.append(Z if k == len(layers) - 1 else relu(Z))
    loss = mse(inputs[-1], X, reduction)
    grad = mse_grad(inputs[-1], X, reduction)
    new: Layers = list(layers)
    for k in reversed(range(len(layers))):
        W, b = layers[k]
        dW, db, dH = linear_backward(grad, W, inputs[k])
        new[k] = (W - lr * dW, b - lr * db)
        if k > 0:
            grad = relu_backward(dH, pre_activations[k - 1])
    return loss, new


def train_autoencoder(
    layers: Layers, X: np.ndarray, steps: int, lr: float, reduction: str = "mean"
) -> tuple[Layers, list[float]]:
    """Full-batch gradient descent for `steps` steps. Returns (trained layers, loss per step)."""
    losses = []
    for _ in range(steps):
        loss, layers = autoencoder_step(layers, X, lr, reduction)
        losses.append(loss)
    return layers, losses
