"""The same problems computed by PyTorch autograd, in float64, the way PyTorch users write them.

PyTorch keeps rows as samples (nn.Linear computes x W^T + b), so inputs are transposed going in
and outputs transposed coming back; weights need no transposing, because nn.Linear's weight is
outputs x inputs like the sheets'. Each function returns {trace step name: value}.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from handcalc import AutoencoderProblem, SAEProblem

DTYPE = torch.float64


def _linear(W: np.ndarray, b: np.ndarray) -> nn.Linear:
    layer = nn.Linear(W.shape[1], W.shape[0], dtype=DTYPE)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(W, dtype=DTYPE))
        layer.bias.copy_(torch.as_tensor(b, dtype=DTYPE))
    return layer


def _numpy(value: torch.Tensor) -> np.ndarray | float:
    """Back to the sheet's layout: matrices transposed to columns-as-samples."""
    value = value.detach()
    if value.ndim == 0:  # a loss
        return float(value)
    return value.numpy().T.copy() if value.ndim == 2 else value.numpy().copy()


def autoencoder_reference(problem: AutoencoderProblem) -> dict[str, np.ndarray | float]:
    x = torch.as_tensor(problem.X.T, dtype=DTYPE)  # rows are samples
    layers = [_linear(W, b) for W, b in problem.layers]
    n = len(layers)
    tensors: dict[str, torch.Tensor] = {}
    h = x
    for k, layer in enumerate(layers, start=1):
        z = layer(h)
        z.retain_grad()
        if k == n:
            tensors["X_hat"] = z
        else:
            h = torch.relu(z)
            h.retain_grad()
            tensors[f"Z{k}"], tensors[f"H{k}"] = z, h
    loss = functional.mse_loss(tensors["X_hat"], x, reduction="sum")
    loss.backward()

    out: dict[str, np.ndarray | float] = {name: _numpy(t) for name, t in tensors.items()}
    out["loss"] = _numpy(loss)
    out["dX_hat"] = _numpy(tensors["X_hat"].grad)
    for k, layer in enumerate(layers, start=1):
        out[f"dW{k}"], out[f"db{k}"] = (
            layer.weight.grad.numpy().copy(),
            layer.bias.grad.numpy().copy(),
        )
        if k < n:
            out[f"dH{k}"], out[f"dZ{k}"] = (
                _numpy(tensors[f"H{k}"].grad),
                _numpy(tensors[f"Z{k}"].grad),
            )

    torch.optim.SGD([p for layer in layers for p in layer.parameters()], lr=problem.lr).step()
    for k, layer in enumerate(layers, start=1):
        out[f"W{k}_new"], out[f"b{k}_new"] = (
            layer.weight.detach().numpy(),
            layer.bias.detach().numpy(),
        )
    return out


def sae_reference(problem: SAEProblem) -> dict[str, np.ndarray | float]:
    p = problem
    x = torch.as_tensor(p.X.T, dtype=DTYPE)  # rows are tokens
    encoder, decoder = _linear(p.W_enc, p.b_enc), _linear(p.W_dec, p.b_dec)
    z = encoder(x)
    f = torch.relu(z)
    x_hat = decoder(f)
    for t in (z, f, x_hat):
        t.retain_grad()
    norms = torch.linalg.vector_norm(decoder.weight, dim=0)  # one per feature (column)
    l1 = p.lam * (f.abs() * norms).sum()
    mse = functional.mse_loss(x_hat, x, reduction="sum")
    loss = mse + l1

    def grad(of: torch.Tensor, wrt: torch.Tensor) -> torch.Tensor:
        return torch.autograd.grad(of, wrt, retain_graph=True)[0]

    abs_grad = _numpy(grad(f.abs().sum(), f))
    out: dict[str, np.ndarray | float] = {
        "Z": _numpy(z),
        "F": _numpy(f),
        "X_hat": _numpy(x_hat),
        "norms": _numpy(norms),
        "l1_loss": _numpy(l1),
        "l1_grad_pos": abs_grad,
        "l1_grad_zeros": abs_grad,
        "l1_grad": _numpy(grad(l1, f)),
        "mse_loss": _numpy(mse),
        "dX_hat": _numpy(grad(mse, x_hat)),
        "loss": _numpy(loss),
        "dW_dec_mse": grad(mse, decoder.weight).numpy(),
        "dW_dec_l1": grad(l1, decoder.weight).numpy(),
    }
    for t in (z, f, x_hat):  # retained grads also collected the autograd.grad calls above
        t.grad = None
    loss.backward()
    out.update(
        dF=_numpy(f.grad),
        dZ=_numpy(z.grad),
        dW_enc=encoder.weight.grad.numpy().copy(),
        db_enc=encoder.bias.grad.numpy().copy(),
        dW_dec=decoder.weight.grad.numpy().copy(),
        db_dec=decoder.bias.grad.numpy().copy(),
    )
    torch.optim.SGD([*encoder.parameters(), *decoder.parameters()], lr=p.lr).step()
    out.update(
        W_enc_new=encoder.weight.detach().numpy(),
        b_enc_new=encoder.bias.detach().numpy(),
        W_dec_new=decoder.weight.detach().numpy(),
        b_dec_new=decoder.bias.detach().numpy(),
    )
    return out
