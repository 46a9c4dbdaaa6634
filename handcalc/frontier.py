"""The sparsity-fidelity frontier (lesson 11): SAEs of each method, swept over its sparsity knob,
each measured by L0 and variance explained on the training activations and by Δ loss, the loss
the splice adds on held-out sentences (error term left out)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .features import Activations
from .lm import TinyLM, loss_fn
from .sae import l0, variance_explained
from .steering import sae_edit
from .trainer import train_sae

# method name: (train_sae's method, its sparsity knob, the knob's settings, sparsest last)
SWEEP = {
    "TopK": ("topk", "k", (4, 2, 1)),
    "L1": ("l1", "lam", (0.1, 0.3, 0.6)),
    "JumpReLU": ("jumprelu", "lam", (0.01, 0.1, 0.3)),
    "Gated": ("gated", "lam", (0.3, 0.6, 1.0)),
}


@dataclass
class Point:
    """One trained SAE on the frontier."""

    setting: str  # e.g. "k=4" or "λ=0.3"
    l0: float
    fve: float
    delta_loss: float


def frontier(
    model: TinyLM,
    acts: Activations,
    test: torch.Tensor,
    site: str = "resid_2",
    latents: int = 64,
    steps: int = 800,
    seed: int = 0,
) -> dict[str, list[Point]]:
    """For each method of SWEEP, an SAE per setting trained on acts.X (width, tokens) at `site`,
    with its L0, variance explained and Δ loss on the token batch `test` (sentences, positions)."""
    with torch.no_grad():
        clean = loss_fn(model, test).item()
    found = {}
    for name, (method, knob, settings) in SWEEP.items():
        found[name] = []
        for value in settings:
            sae, _ = train_sae(
                acts.X, latents, method, steps=steps, seed=seed, backend="numpy",
                progress=False, **{knob: value},
            )  # fmt: skip
            F = sae.encode(acts.X)
            with torch.no_grad():
                spliced = loss_fn(model, test, {site: sae_edit(sae, acts, keep_error=False)})
            label = f"k={value}" if knob == "k" else f"λ={value}"
            fve = variance_explained(acts.X, sae.decode(F))
            found[name].append(Point(label, l0(F), fve, spliced.item() - clean))
    return found
