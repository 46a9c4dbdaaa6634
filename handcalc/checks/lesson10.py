"""Lesson 10's code-exercise checks: feature circuits (attribution, attribution patching,
integrated gradients)."""

from __future__ import annotations

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..mistakes import Suspect
from ..recording import judged
from .core import _listed, compare


@judged()
def check_feature_attribution(
    answer: ArrayLike, f: ArrayLike, W_dec: ArrayLike, readout: ArrayLike
) -> Feedback:
    """Check gradient x activation of each feature on m = readout . h (lesson 10):
    f * (W_dec^T readout)."""
    f, W_dec, readout = (np.asarray(x, dtype=float) for x in (f, W_dec, readout))
    gradient = W_dec.T @ readout

    def mistakes() -> list[Suspect]:
        return _listed("feature_attribution", [
            ("That is the gradient dm/df alone; multiply each entry by the feature's activation "
             "f: attribution is gradient x activation.", (gradient)),
            ("That is activation x the decoder column's length, not its effect on m: go through "
             "the readout, W_dec^T (w_runs - w_run).",
             (f * np.sqrt((W_dec**2).sum(axis=0)))),
        ])  # fmt: skip

    return compare(answer, f * gradient, "each feature's attribution", mistakes)


@judged()
def check_atp(answer, model, data, splice, site: str) -> Feedback:
    """Check a learner's attribution patching at one site (lesson 10): (positions, latents),
    (f_clean - f_corrupt) * dm/df summed over the pairs, as circuits.attribute computes it."""
    import torch

    from ..circuits import attribute, metric, run_spliced

    if isinstance(answer, torch.Tensor):
        answer = answer.detach().numpy()
    right = attribute(model, data, splice).features[site]
    clean: dict = {}
    with torch.no_grad():
        run_spliced(model, data.tokens, splice, clean)
    clean_f = clean[site]["f"]

    def mistakes() -> list[Suspect]:
        n = len(data.tokens)
        leaf: dict = {}

        def as_leaf(s, f, error):
            if s == site:
                f = f.detach().requires_grad_()
                leaf["f"] = f
            return f, error.detach()

        metric(run_spliced(model, data.tokens, splice, replace=as_leaf), data).backward()
        grad = leaf["f"].grad.numpy()
        return _listed("atp", [
            ("The difference goes the other way: clean minus corrupt, f_clean − f_corrupt.",
             -right),
            ("That is gradient x activation on the clean run alone; attribution patching "
             "multiplies the gradient by the *change* f_clean − f_corrupt.",
             (clean_f.numpy() * grad).sum(0)),
            ("Averaged over the pairs: the metric is already a mean over the pairs, so its "
             "gradient carries the 1/n; sum the products over the pairs.", right / n),
            ("Summed over the positions or latents too: keep one number per (position, latent).",
             np.full_like(right, right.sum())),
        ])  # fmt: skip

    return compare(answer, right, f"the attribution at {site}", mistakes,
                   axes=("position", "latent"))  # fmt: skip


@judged()
def check_integrated_gradients(answer, model, data, splice, site: str, steps: int) -> Feedback:
    """Check a learner's integrated gradients for the features at one site (lesson 10), as
    circuits.attribute(steps=steps) computes them: the gradient averaged at α = 1/steps, ..., 1
    on the way from the corrupt features to the clean ones, times their difference."""
    import torch

    from ..circuits import attribute

    if isinstance(answer, torch.Tensor):
        answer = answer.detach().numpy()
    right = attribute(model, data, splice, steps=steps).features[site]

    def mistakes() -> list[Suspect]:
        return _listed("integrated_gradients", [
            ("These are the gradients summed over the steps, not averaged: divide by the number "
             "of steps.", right * steps),
            ("That is attribution patching, the gradient at the clean end only: average the "
             "gradient over the points between the corrupt and the clean features.",
             attribute(model, data, splice).features[site]),
            ("The difference goes the other way: clean minus corrupt.", -right),
        ])  # fmt: skip

    return compare(answer, right, f"the integrated gradients at {site}", mistakes,
                   axes=("position", "latent"))  # fmt: skip
