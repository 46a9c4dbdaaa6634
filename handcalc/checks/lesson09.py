"""Lesson 09's code-exercise checks: steering (a change to the features, a clamp as an
addition, a mean difference)."""

from __future__ import annotations

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..mistakes import Suspect
from ..recording import judged
from .core import _listed, compare


@judged()
def check_steer(
    answer: ArrayLike, z: ArrayLike, f: ArrayLike, W_dec: ArrayLike, b_dec: ArrayLike,
    latent: int, value: float,
) -> Feedback:  # fmt: skip
    """Check the Golden Gate edit: decode f with f[latent] = value, plus the error term."""
    z, f, W_dec, b_dec = (np.asarray(x, dtype=float) for x in (z, f, W_dec, b_dec))

    def decode(g: np.ndarray) -> np.ndarray:
        return W_dec @ g + b_dec[:, None]

    clamped, added = f.copy(), f.copy()
    clamped[latent], added[latent] = value, f[latent] + value
    error = z - decode(f)

    def mistakes() -> list[Suspect]:
        return _listed("steer", [
            ("You left out the error term: add z - decode(f), what the SAE does not explain, "
             "so that only the clamped feature changes.", (decode(clamped))),
            (f"You added {value:g} to the feature; clamping sets it to {value:g}.",
             (decode(added) + error)),
            ("You changed a row of z itself; change the feature in f, then decode.",
             (np.where(np.arange(z.shape[0])[:, None] == latent, value, z))),
        ])  # fmt: skip

    return compare(answer, decode(clamped) + error, "the steered activations", mistakes)


@judged()
def check_clamp_as_addition(
    answer: ArrayLike, z: ArrayLike, f: ArrayLike, W_dec: ArrayLike, latent: int, value: float
) -> Feedback:
    """Check z + (value - f[latent]) d_latent, one column per sample (lesson 09): the clamp with
    the error term kept, written as a steering vector."""
    z, f, W_dec = (np.asarray(x, dtype=float) for x in (z, f, W_dec))
    d = W_dec[:, latent][:, None]
    change = value - f[latent][None, :]

    def mistakes() -> list[Suspect]:
        return _listed("clamp_as_addition", [
            ("You added value x d, as if the feature had been 0: the clamp sets it to value, so "
             "the change is (value − f) x d, with f the feature's own activation in each column.",
             z + value * d),
            ("The change goes the other way: the feature moves from f to value, by value − f.",
             z - change * d),
            ("This is the change alone; add it to z.", change * d),
            ("One change for all columns: the feature's activation differs from sample to "
             "sample, so the amount (value − f) does too.", z + (value - f[latent].mean()) * d),
        ])  # fmt: skip

    return compare(
        answer, z + change * d, "the edited activations", mistakes, axes=("dim", "sample")
    )


@judged()
def check_mean_difference(
    answer: ArrayLike, A: ArrayLike, holds: ArrayLike, other: ArrayLike
) -> Feedback:
    """Check the mean of A's columns where `holds` minus the mean where `other` (lesson 09)."""
    A = np.asarray(A, dtype=float)
    holds, other = np.asarray(holds, dtype=bool), np.asarray(other, dtype=bool)
    right = A[:, holds].mean(axis=1) - A[:, other].mean(axis=1)

    def mistakes() -> list[Suspect]:
        return _listed("mean_difference", [
            ("The sign is flipped: the vector points from the second group to the first, "
             "mean(where holds) − mean(where other).", -right),
            ("You subtracted the mean of all tokens, not of the tokens of the other group.",
             A[:, holds].mean(axis=1) - A.mean(axis=1)),
            ("Sums instead of means: the two groups have different sizes, so divide each by its "
             "own count.", A[:, holds].sum(axis=1) - A[:, other].sum(axis=1)),
        ])  # fmt: skip

    if np.shape(answer) == (A.shape[1],) and A.shape[0] != A.shape[1]:
        message = (
            "One number per token: you averaged over the wrong axis. Tokens are columns; the "
            f"vector has one entry per dimension ({A.shape[0]})."
        )
        return Feedback(False, message)
    return compare(answer, right, "the mean difference", mistakes)


def _clamp_input(latent: int):
    """The features a clamp check hands to the learner's change: (2, 3, latent + 3)."""
    import torch

    latents = latent + 3
    return torch.arange(6 * latents, dtype=torch.float64).reshape(2, 3, latents) / 10


def _clamped(make_change, latent: int, value: float) -> dict:
    """What a learner's make_change(latent, value) does: {"problem": what is wrong with it}, or
    {"out": the changed features, "wrote": whether it changed its input}."""
    import torch

    f = _clamp_input(latent)
    original = f.clone()
    change = make_change(latent, value)
    if not callable(change):
        return {"problem": (
            f"my_clamp should return a function (the change), not {type(change).__name__}: "
            "define one inside it and return it."
        )}  # fmt: skip
    out = change(f)
    if out is None:
        return {"problem": "Your change returns None: return the new features."}
    return {"out": torch.as_tensor(out).detach().numpy(), "wrote": not torch.equal(f, original)}


@judged(collect=_clamped)
def check_clamp_change(make_change, latent: int, value: float) -> Feedback:
    """Check a learner's make_change(latent, value) (lesson 09): a function that takes features
    f (..., latents) and returns them with feature `latent` set to `value` everywhere, leaving
    its input unchanged. (Under a grader, make_change is what _clamped recorded of it.)"""
    done = make_change if isinstance(make_change, dict) else _clamped(make_change, latent, value)
    if "problem" in done:
        return Feedback(False, str(done["problem"]))
    if done.get("wrote"):
        message = (
            "Your change writes into the features it is given: .clone() them first. sae_edit "
            "needs the original f to compute the error term."
        )
        return Feedback(False, message)
    original = _clamp_input(latent)
    right = original.clone()
    right[..., latent] = value

    def mistakes() -> list[Suspect]:
        first_axis = original.clone()
        first_axis[min(latent, 1)] = value
        added = original.clone()
        added[..., latent] += value
        return _listed("clamp", [
            ("You set an entry of the first axis (a whole sentence); features are the *last* "
             "axis: f[..., latent].", first_axis.numpy()),
            ("You added value to the feature; a clamp sets it to value, whatever it was.",
             added.numpy()),
        ])  # fmt: skip

    return compare(done.get("out"), right.numpy(), "the clamped features", mistakes)
