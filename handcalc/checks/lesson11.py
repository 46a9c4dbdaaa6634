"""Lesson 11's code-exercise checks: from toy to frontier (normalising, AuxK, loss
recovered, the size of an SAE)."""

from __future__ import annotations

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..mistakes import Suspect
from ..recording import judged
from ..scale import encoder_flops, sae_parameters
from .core import _listed, compare


@judged()
def check_sae_parameters(answer: float, d: int, m: int) -> Feedback:
    """Check the number of parameters of an SAE of width d with m latents (lesson 11)."""

    def mistakes() -> list[Suspect]:
        return _listed("sae_parameters", [
            ("You left out the two bias vectors: b_enc has m numbers and b_dec has d.",
             (2 * m * d)),
            ("Only one matrix: the encoder (m x d) and the decoder (d x m) are separate.",
             (m * d + m + d)),
        ])  # fmt: skip

    return compare(answer, sae_parameters(d, m), "the parameter count", mistakes)


@judged()
def check_encoder_flops(answer: float, d: int, m: int) -> Feedback:
    """Check the FLOPs to encode one token (lesson 11)."""

    def mistakes() -> list[Suspect]:
        return _listed("encoder_flops", [
            ("You counted a multiply-add as one operation; it is two FLOPs (a multiply and an "
             "add).", (m * d)),
        ])  # fmt: skip

    return compare(answer, encoder_flops(d, m), "the encoder's FLOPs per token", mistakes)


@judged()
def check_loss_recovered(answer: float, L_model: float, L_sae: float, L_ablated: float) -> Feedback:
    """Check the fraction of loss recovered, (L_ablated - L_sae) / (L_ablated - L_model)."""
    gap = L_ablated - L_model

    def mistakes() -> list[Suspect]:
        return _listed("loss_recovered", [
            ("That is the share of the gap *lost*, (L_SAE − L_model) / (L_ablated − L_model): "
             "subtract it from 1, or measure from the ablated end.", (L_sae - L_model) / gap),
            ("Upside down: the gap the SAE closes, L_ablated − L_SAE, goes on top, the whole gap "
             "L_ablated − L_model below.", gap / (L_ablated - L_sae)),
            ("That is the change in loss, L_SAE − L_model (what OpenAI and Gemma Scope report), "
             "not the fraction recovered.", L_sae - L_model),
            ("Ratios of losses do not measure the gap: compare differences, (L_ablated − L_SAE) / "
             "(L_ablated − L_model).", L_model / L_sae),
        ])  # fmt: skip

    return compare(answer, (L_ablated - L_sae) / gap, "the fraction of loss recovered", mistakes)


@judged()
def check_auxk_loss(answer: float, sae, X: ArrayLike, dead: ArrayLike, k_aux: int) -> Feedback:
    """Check the AuxK loss of a TopK SAE on X (lesson 11), naming the usual slips."""
    from ..sae import auxk_loss

    X, dead = np.asarray(X, dtype=float), np.asarray(dead)
    X_hat = sae.decode(sae.encode(X))
    right = auxk_loss(sae.W_enc, sae.b_enc, sae.W_dec, X, X_hat, dead, k_aux)
    every = np.arange(sae.b_enc.size)

    def mistakes() -> list[Suspect]:
        Z = sae.W_enc[dead] @ X + sae.b_enc[dead][:, None]
        kth = -np.partition(-Z, min(k_aux, dead.size) - 1, axis=0)[min(k_aux, dead.size) - 1]
        F = np.where((Z >= kth) & (Z > 0), Z, 0.0)
        decoded = sae.W_dec[:, dead] @ F
        return _listed("auxk", [
            ("These latents include live ones: AuxK takes the k_aux largest pre-activations among "
             "the *dead* latents only, so that they, and only they, get a gradient.",
             auxk_loss(sae.W_enc, sae.b_enc, sae.W_dec, X, X_hat, every, k_aux)),
            ("The target is the residual x − x', what the live latents missed, not x itself.",
             float(((X - decoded) ** 2).sum(axis=0).mean())),
            ("The auxiliary reconstruction has no b_dec: it rebuilds a residual, whose mean the "
             "main reconstruction already took.",
             float((((X - X_hat) - decoded - sae.b_dec[:, None]) ** 2).sum(axis=0).mean())),
            ("Averaged over the dimensions too: sum the squared error over the dimensions, then "
             "average over the samples.", right / X.shape[0]),
        ])  # fmt: skip

    return compare(answer, right, "the AuxK loss", mistakes)


@judged()
def check_normalise(answer, A: ArrayLike) -> Feedback:
    """Check (X, mean, scale): A (d, n) centred, then divided by one number so that the
    root-mean-square length of its columns is 1 (lesson 11, as lesson 08's collect does)."""
    A = np.asarray(A, dtype=float)
    mean = A.mean(axis=1)
    centred = A - mean[:, None]
    scale = np.sqrt((centred**2).sum(axis=0).mean())
    if not isinstance(answer, tuple) or len(answer) != 3:
        return Feedback(False, "Return three things: the normalised X, the mean and the scale.")

    def mistakes() -> list[Suspect]:
        uncentred = np.sqrt((A**2).sum(axis=0).mean())
        return _listed("normalise", [
            ("Centre first: subtract each dimension's mean (over the tokens) before scaling.",
             A / uncentred),
            ("One scale for all dimensions, not one per dimension: dividing each row by its own "
             "spread changes the directions, which are what the SAE reads.",
             centred / centred.std(axis=1, keepdims=True)),
            ("The scale is the root-mean-square length, sqrt(mean of ‖x‖²), not the mean length.",
             centred / np.linalg.norm(centred, axis=0).mean()),
        ])  # fmt: skip

    verdict = compare(answer[0], centred / scale, "the normalised activations", mistakes)
    if not verdict:
        return verdict
    if not np.allclose(np.ravel(answer[1]), mean, rtol=1e-9, atol=1e-9):
        return Feedback(False, "X is right, but the mean you return is not the one you took off.")
    return compare(answer[2], scale, "the normalised activations, the mean and the scale")
