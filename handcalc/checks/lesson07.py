"""Lesson 07's code-exercise checks: training SAEs (L0, variance explained, the sparsity
penalties, TopK and JumpReLU, gradients, Adam, the torch module, resampling)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..kl import bernoulli_kl
from ..mistakes import Suspect
from ..recording import judged
from .core import _listed, compare


@judged()
def check_kl(answer: ArrayLike, rho: float, rates: ArrayLike) -> Feedback:
    """Check KL(rho || r) for each rate r (lesson 07), naming the usual slips."""
    r = np.asarray(rates, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("kl", [
            ("The two coins are swapped: that is KL(r || rho). The target rho comes first: "
             "rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r)).",
             (_kl_swapped(rho, r))),
            ("Only the first term: add (1 - rho) log((1 - rho) / (1 - r)), the 'does not fire' "
             "side of the coin.", (rho * np.log(rho / r))),
        ])  # fmt: skip

    return compare(answer, bernoulli_kl(rho, r), "KL(rho || r) for each latent", mistakes)


def _kl_swapped(rho: float, rates: np.ndarray) -> np.ndarray:
    """KL(r || rho): the mistake of putting the measured rate first."""
    return rates * np.log(rates / rho) + (1 - rates) * np.log((1 - rates) / (1 - rho))


@judged()
def check_topk(answer: ArrayLike, Z: ArrayLike, k: int) -> Feedback:
    """Check TopK(Z, k): each column's (sample's) k largest positive entries kept, the rest 0."""
    Z = np.asarray(Z, dtype=float)

    def keep(mask: np.ndarray) -> np.ndarray:
        return np.where(mask, Z, 0.0)

    by_column = Z >= np.sort(Z, axis=0)[-k]
    by_row = Z >= np.sort(Z, axis=1)[:, [-k]]

    def mistakes() -> list[Suspect]:
        return _listed("topk", [
            ("Negative entries kept: TopK keeps the k largest *positive* pre-activations; a "
             "negative one stays 0, as after a ReLU.", (keep(by_column))),
            ("You kept the k largest of each row (latent). TopK works per sample: each column "
             "keeps its own k largest.", (keep(by_row & (Z > 0)))),
            ("np.sort sorts in ascending order, so np.sort(Z, axis=0)[k - 1] is the k-th "
             "smallest: you kept nearly everything. The k-th largest is np.sort(Z, axis=0)[-k].",
             (keep((Z >= np.sort(Z, axis=0)[k - 1]) & (Z > 0)))),
        ] + ([
            ("You kept k + 1 per column: the k-th largest is np.sort(Z, axis=0)[-k], not "
             "[-k - 1].", (keep((Z >= np.sort(Z, axis=0)[-k - 1]) & (Z > 0)))),
        ] if k < Z.shape[0] else []))  # fmt: skip

    return compare(answer, keep(by_column & (Z > 0)), f"TopK(Z, {k})", mistakes)


@judged()
def check_jumprelu(answer: ArrayLike, Z: ArrayLike, threshold: ArrayLike) -> Feedback:
    """Check JumpReLU: F = Z where Z > θ (each latent's own threshold, a row's), else 0."""
    from ..jumprelu import jumprelu

    Z, theta = np.asarray(Z, dtype=float), np.asarray(threshold, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("jumprelu", [
            ("You subtracted the threshold: JumpReLU keeps z itself where z > θ (a jump), it "
             "does not shift it (z − θ would be a ReLU with bias −θ, which shrinks every size).",
             np.maximum(Z - theta[:, None], 0)),
            ("That is a ReLU: the cut is at each latent's threshold θ, not at 0.",
             np.maximum(Z, 0)),
            ("Kept where z ≥ θ: JumpReLU keeps z only where z > θ (an entry equal to θ is cut).",
             Z * (Z >= theta[:, None])),
        ])  # fmt: skip

    return compare(answer, jumprelu(Z, theta), "JumpReLU(Z)", mistakes, axes=("latent", "sample"))


@judged()
def check_threshold_grad(
    answer: ArrayLike, Z: ArrayLike, threshold: ArrayLike, dF: ArrayLike, lam: float,
    bandwidth: float,
) -> Feedback:  # fmt: skip
    """Check the pseudo-gradient of the loss for each threshold (Rajamanoharan et al. 2024b):
    −Σ_n dF θ K((z − θ)/ε)/ε − (lam/n) Σ_n K((z − θ)/ε)/ε, n = Z's columns."""
    from ..jumprelu import rectangle, threshold_grads

    Z, theta, dF = (np.asarray(a, dtype=float) for a in (Z, threshold, dF))
    n = Z.shape[1]
    kernel = rectangle((Z - theta[:, None]) / bandwidth) / bandwidth
    through_f = -(dF * theta[:, None] * kernel).sum(axis=1)
    through_l0 = -lam / n * kernel.sum(axis=1)

    def mistakes() -> list[Suspect]:
        return _listed("threshold_grad", [
            ("Only the reconstruction's part: the L0 penalty reaches θ too, through the step's "
             "pseudo-derivative, −(λ/n) Σ_n K/ε.", through_f),
            ("Only the L0 penalty's part: F depends on θ too (a latent just above θ switches "
             "off when θ rises), −Σ_n dF θ K/ε.", through_l0),
            ("The signs are flipped: raising θ switches latents off, so both pseudo-derivatives "
             "are negative (−θ/ε K and −1/ε K).", -(through_f + through_l0)),
            ("F's pseudo-derivative has a factor θ, the size of the jump: −(θ/ε) K, not −(1/ε) K.",
             -(dF * kernel).sum(axis=1) + through_l0),
            ("The kernel is divided by its width ε: K((z − θ)/ε) / ε, so that it integrates to 1.",
             (through_f + through_l0) * bandwidth),
            ("The L0 term is averaged over the samples like the loss: λ/n, not λ.",
             through_f + through_l0 * n),
        ])  # fmt: skip

    right = threshold_grads(Z, theta, dF, lam, n, bandwidth)
    return compare(answer, right, "dloss/dθ", mistakes, axes=("latent",))


@judged(many=True)
def check_sae_gradients(answer: tuple, sae, X: ArrayLike, lam: float) -> list[Feedback]:
    """Check (loss, grads) of an L1 SAE on a batch X (d, n), averaged over the samples, against
    the trainer's hand gradients (lesson 07): one verdict for the loss and one per gradient."""
    from ..backward import l1_decoder_grad
    from ..trainer import Penalty, numpy_gradients

    X = np.asarray(X, dtype=float)
    if not isinstance(answer, tuple) or len(answer) != 2 or not isinstance(answer[1], dict):
        return [
            Feedback(
                False,
                "Return two things: the loss (a number) and a dict of gradients "
                "{'W_enc': ..., 'b_enc': ..., 'W_dec': ..., 'b_dec': ...}.",
            )
        ]
    loss, grads = answer
    right_loss, right, F, _ = numpy_gradients(sae, X, Penalty(lam=lam))
    n = X.shape[1]

    def slips(name: str) -> Callable[[], list[Suspect]]:
        found = [
            (
                "Not averaged over the samples: the trainer's loss is a mean over the batch, "
                f"so every gradient is divided by n = {n}.",
                right[name] * n,
            )
        ]
        if name == "W_dec":
            found.append(
                (
                    "dW_dec has two parts: the reconstruction's and the sparsity's, "
                    "λ (Σ_n F[i, n]) d_i / ‖d_i‖ / n, because the penalty uses the decoder "
                    "lengths.",
                    right[name] - l1_decoder_grad(F, sae.W_dec, lam) / n,
                )
            )
        if name == "W_enc":
            found.append(
                (
                    "You left out the ReLU's mask on the way back: where Z ≤ 0 the gradient stops.",
                    _unmasked_encoder(sae, X, F, lam),
                )
            )
        return lambda: _listed(f"sae_gradients.{name}", found)

    verdicts = [
        compare(
            loss,
            right_loss,
            "the loss",
            lambda: _listed(
                "sae_gradients.loss",
                [
                    (
                        "That is the loss summed over the samples; the trainer averages it over "
                        "the batch.",
                        right_loss * n,
                    )
                ],
            ),
        )
    ]
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        if name not in grads:
            verdicts.append(Feedback(False, f"No gradient for {name}: the dict needs all four."))
            continue
        verdicts.append(compare(grads[name], right[name], f"d{name}", slips(name)))
    return verdicts


def _unmasked_encoder(sae, X: np.ndarray, F: np.ndarray, lam: float) -> np.ndarray:
    """dW_enc with the ReLU's mask left out (dF passed straight to the encoder)."""
    from ..steps import l1_grad

    n = X.shape[1]
    X_hat = sae.W_dec @ F + sae.b_dec[:, None]
    dF = sae.W_dec.T @ (2 * (X_hat - X) / n) + l1_grad(F, sae.W_dec, lam) / n
    return dF @ X.T


@judged()
def check_adam_step(answer: tuple, p, g, m, v, t: int, lr: float) -> Feedback:
    """Check one Adam step (p, m, v) -> (new p, new m, new v) as PyTorch computes it (lesson
    07), with betas (0.9, 0.999) and eps 1e-8."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    p, g, m, v = (np.asarray(x, dtype=float) for x in (p, g, m, v))
    m2 = b1 * m + (1 - b1) * g
    v2 = b2 * v + (1 - b2) * g * g
    right = p - lr / (1 - b1**t) * m2 / (np.sqrt(v2) / np.sqrt(1 - b2**t) + eps)
    if not isinstance(answer, tuple) or len(answer) != 3:
        return Feedback(False, "Return three things: the new parameter, the new m and the new v.")
    given_p, given_m, given_v = answer
    for given, expected, what in ((given_m, m2, "m"), (given_v, v2, "v")):
        verdict = compare(given, expected, f"the new {what}")
        if not verdict:
            return Feedback(
                False,
                f"The running average {what} is off: {verdict.message} "
                f"m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g².",
                verdict.right,
            )

    def mistakes() -> list[Suspect]:
        return _listed(
            "adam",
            [
                (
                    "You left out the bias correction: divide m by (1 − β1^t) and v by (1 − β2^t); "
                    "early on, m and v are still close to their starting 0.",
                    p - lr * m2 / (np.sqrt(v2) + eps),
                ),
                (
                    "Divide by the square root of v (the gradient's typical size), not by v "
                    "itself.",
                    p - lr / (1 - b1**t) * m2 / (v2 / (1 - b2**t) + eps),
                ),
                (
                    "The step goes against the gradient: subtract it.",
                    p + lr / (1 - b1**t) * m2 / (np.sqrt(v2) / np.sqrt(1 - b2**t) + eps),
                ),
            ],
        )

    return compare(given_p, right, "the new parameter", mistakes)


def _torch_sae_outputs(model_class, sae, X: ArrayLike, lam: float) -> dict:
    """What a learner's PyTorch SAE class computes with `sae`'s weights on X: x_hat and f (as
    columns), the loss and each parameter's gradient (None where it has none), as arrays."""
    import torch

    X = np.asarray(X, dtype=float)
    model = model_class(X.shape[0], sae.W_enc.shape[0]).double()
    layers = {"enc": model.encoder, "dec": model.decoder}
    with torch.no_grad():
        for part, layer in layers.items():
            layer.weight.copy_(torch.from_numpy(getattr(sae, f"W_{part}")))
            layer.bias.copy_(torch.from_numpy(getattr(sae, f"b_{part}")))
    x = torch.from_numpy(X.T.copy())
    x_hat, f = model(x)
    loss = model.loss(x, lam)
    loss.backward()
    grads = {}
    for part, layer in layers.items():
        for name, p in (("W", layer.weight), ("b", layer.bias)):
            grads[f"{name}_{part}"] = None if p.grad is None else p.grad.numpy()
    return {"x_hat": x_hat.detach().numpy().T, "f": f.detach().numpy().T,
            "loss": loss.item(), "grads": grads}  # fmt: skip


@judged(many=True, collect=_torch_sae_outputs)
def check_torch_sae(model_class, sae, X: ArrayLike, lam: float) -> list[Feedback]:
    """Check a learner's PyTorch SAE (lesson 07): model_class(d, m) with nn.Linear `encoder`
    and `decoder`, forward(x) -> (x_hat, f) with rows as samples, loss(x, lam) averaged over the
    batch. It gets `sae`'s weights; its outputs and gradients must equal the hand-derived ones.
    (Under a grader, model_class is what _torch_sae_outputs recorded of it.)"""
    from ..trainer import Penalty, numpy_gradients

    out = (
        model_class
        if isinstance(model_class, dict)
        else _torch_sae_outputs(model_class, sae, X, lam)
    )
    X = np.asarray(X, dtype=float)
    (d, n) = X.shape
    right_loss, grads, F, X_hat = numpy_gradients(sae, X, Penalty(lam=lam))
    Z = sae.W_enc @ X + sae.b_enc[:, None]
    norms = np.linalg.norm(sae.W_dec, axis=0)
    mse = ((X_hat - X) ** 2).sum() / n

    def f_slips() -> list[Suspect]:
        return _listed("torch_sae.f", [("You left out the ReLU: f = ReLU(encoder(x)).", Z)])

    def loss_slips() -> list[Suspect]:
        return _listed("torch_sae.loss", [
            ("The penalty is missing the decoder lengths: weigh each f_i by ‖W_dec[:, i]‖, "
             "the norm of decoder.weight's column i (dim=0).", mse + lam * F.sum() / n),
            ("That is the penalty some introductions use, λ times the mean of |f| over samples "
             "and latents; this course's is λ Σ_i f_i ‖W_dec[:, i]‖, averaged over the samples "
             "only.",
             mse + lam * F.mean()),
            ("The reconstruction error is averaged over the dimensions too; the course sums it "
             "over the dimensions and averages over the samples.",
             mse / d + lam * (F.sum(axis=1) * norms).sum() / n),
        ])  # fmt: skip

    verdicts = [
        compare(out["x_hat"], X_hat, "x_hat (as columns)"),
        compare(out["f"], F, "f (as columns)", f_slips),
        compare(out["loss"], right_loss, "the loss", loss_slips),
    ]
    if not all(verdicts):
        verdicts.append(Feedback(False, "The gradients follow from the forward pass and the "
                                 "loss: fix those first, then check again."))  # fmt: skip
        return verdicts
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        verdicts.append(compare(out["grads"].get(name), grads[name], f"d{name}"))
    return verdicts


def _resampled(resample_fn, sae, dead: ArrayLike, X: ArrayLike, X_hat: ArrayLike) -> dict:
    """A learner's resample_fn run on a copy of sae: the copy's parameters afterwards (or
    those of the SAE it returned instead), as arrays."""
    from ..trainer import SAE

    mine = sae.copy()
    returned = resample_fn(mine, np.asarray(dead), np.asarray(X, dtype=float),
                           np.asarray(X_hat, dtype=float))  # fmt: skip
    if isinstance(returned, SAE):
        mine = returned  # a new SAE returned instead of changing this one: just as good
    return {name: getattr(mine, name) for name in ("W_dec", "W_enc", "b_enc")}


@judged(many=True, collect=_resampled)
def check_resample(resample_fn, sae, dead: ArrayLike, X: ArrayLike, X_hat: ArrayLike) -> list:
    """Check a learner's resample_fn(sae, dead, X, X_hat) (lesson 07), which changes a copy of
    `sae` in place like handcalc.trainer.resample: the decoder, encoder and bias of each dead
    latent, the others untouched. (Under a grader, resample_fn is what _resampled recorded.)"""
    from types import SimpleNamespace

    from ..trainer import RESAMPLE_SCALE, resample

    dead = np.asarray(dead)
    X, X_hat = np.asarray(X, dtype=float), np.asarray(X_hat, dtype=float)
    right = sae.copy()
    resample(right, dead, X, X_hat)
    out = (
        resample_fn
        if isinstance(resample_fn, dict)
        else _resampled(resample_fn, sae, dead, X, X_hat)
    )
    mine = SimpleNamespace(**{name: np.asarray(out[name], dtype=float) for name in out})
    alive = np.setdiff1d(np.arange(sae.b_enc.size), dead)
    untouched = (
        np.array_equal(mine.W_dec[:, alive], sae.W_dec[:, alive])
        and np.array_equal(mine.W_enc[alive], sae.W_enc[alive])
        and np.array_equal(mine.b_enc[alive], sae.b_enc[alive])
    )
    if not untouched:
        message = (
            "You changed latents that are alive: only the latents listed in `dead` get new "
            "directions; leave every other column and row alone."
        )
        return [Feedback(False, message)]
    residual = X - X_hat
    order = np.argsort((residual**2).sum(axis=0), kind="stable")  # best reconstructed first
    worst = np.resize(order[::-1], dead.size)
    raw = residual[:, worst]
    scale = RESAMPLE_SCALE * np.linalg.norm(sae.W_enc[alive], axis=1).mean()

    def decoder_slips() -> list[Suspect]:
        best = residual[:, np.resize(order, dead.size)]
        return _listed("resample.decoder", [
            ("These are the inputs x themselves, Anthropic's recipe; the course points a dead "
             "latent at the residual x − x', the part of a badly reconstructed sample that the "
             "SAE misses.", X[:, worst] / np.linalg.norm(X[:, worst], axis=0)),
            ("The residual is x − x' (what is missing from the reconstruction), not x' − x.",
             -right.W_dec[:, dead]),
            ("Make each new decoder column unit length: divide it by its norm.", raw),
            ("These come from the best reconstructed samples: sort by squared error, largest "
             "first (np.argsort(-errors)).", best / np.linalg.norm(best, axis=0)),
        ])  # fmt: skip

    def encoder_slips() -> list[Suspect]:
        return _listed("resample.encoder", [
            ("The encoder row is the new direction (the decoder column, transposed) times "
             f"{RESAMPLE_SCALE} x the mean length of the alive latents' encoder rows; you left "
             "out that factor.", right.W_dec[:, dead].T),
            ("Scale by the mean length of the *alive* latents' encoder rows (np.linalg.norm(..., "
             "axis=1).mean()), not of all of them: the dead rows are the ones being replaced.",
             RESAMPLE_SCALE * np.linalg.norm(sae.W_enc, axis=1).mean() * right.W_dec[:, dead].T),
            ("The encoder row is the direction times the scale: you used the decoder's "
             "unnormalised residual.", scale * raw.T),
        ])  # fmt: skip

    def bias_slips() -> list[Suspect]:
        return _listed("resample.bias", [
            ("The dead latents' encoder bias stays as it was; set it to 0, or a latent killed by "
             "a very negative bias stays dead.", sae.b_enc[dead]),
        ])  # fmt: skip

    decoder = compare(mine.W_dec[:, dead], right.W_dec[:, dead], "the new decoder columns",
                      decoder_slips, axes=("dim", "latent"))  # fmt: skip
    encoder = (
        compare(mine.W_enc[dead], right.W_enc[dead], "the new encoder rows", encoder_slips,
                axes=("latent", "dim"))
        if decoder
        else Feedback(False, "The encoder rows are the decoder columns, transposed and scaled: "
                      "fix the decoder first, then check again.")
    )  # fmt: skip
    bias = compare(mine.b_enc[dead], right.b_enc[dead], "the new encoder biases", bias_slips)
    return [decoder, encoder, bias]


@judged()
def check_l0(answer: float, F: ArrayLike) -> Feedback:
    """Check L0, the mean number of active latents per sample (lesson 07)."""
    from ..sae import l0

    F = np.asarray(F, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("l0", [
            ("That is the share of all entries that are active; L0 counts the active latents "
             "of each sample (a column) and averages those counts.", (F != 0).mean()),
            ("That counts every latent, zeros included: count only the non-zero ones.",
             float(F.shape[0])),
            ("That is the mean activation per sample, not the number of active latents.",
             F.sum(axis=0).mean()),
            ("That is the total number of active entries over all samples: L0 is their mean "
             "per sample, so divide by the number of samples (columns).",
             float((F != 0).sum())),
            ("You counted per latent (row), on how many samples each fires, and averaged over "
             "the latents: L0 counts per sample (column), over the latents.",
             (F != 0).sum(axis=1).mean()),
        ])  # fmt: skip

    return compare(answer, l0(F), "L0", mistakes)


@judged()
def check_variance_explained(answer: float, X: ArrayLike, X_hat: ArrayLike) -> Feedback:
    """Check the fraction of variance explained (lesson 07)."""
    from ..sae import variance_explained

    X, X_hat = np.asarray(X, dtype=float), np.asarray(X_hat, dtype=float)
    residual, n = ((X - X_hat) ** 2).sum(), X.shape[1]
    total = ((X - X.mean(axis=1, keepdims=True)) ** 2).sum()

    def mistakes() -> list[Suspect]:
        return _listed("fve", [
            ("The total is measured from the mean: Σ ‖x − mean(x)‖², with mean(x) the average "
             "sample (X.mean(axis=1)). Without it, a constant offset counts as explained.",
             1 - residual / (X**2).sum()),
            ("That is the share left unexplained, Σ ‖x − x'‖² / Σ ‖x − mean(x)‖²: subtract it "
             "from 1.", residual / ((X - X.mean(axis=1, keepdims=True)) ** 2).sum()),
            ("The mean is the average sample, taken over the samples (axis=1), one per "
             "dimension; you took it over the dimensions.",
             1 - residual / ((X - X.mean(axis=0, keepdims=True)) ** 2).sum()),
            ("The mean is one per dimension, the average sample (X.mean(axis=1)); you took a "
             "single mean of all entries.", 1 - residual / ((X - X.mean()) ** 2).sum()),
            ("Measure both alike, both sums over all samples (or both means): one of yours is "
             "divided by the number of samples and the other is not.",
             1 - residual / n / total),
            ("Measure both alike, both sums over all samples (or both means): one of yours is "
             "divided by the number of samples and the other is not.",
             1 - residual / (total / n)),
        ])  # fmt: skip

    return compare(answer, variance_explained(X, X_hat), "the variance explained", mistakes)


@judged()
def check_l1_penalty(answer: float, F: ArrayLike, W_dec: ArrayLike, lam: float) -> Feedback:
    """Check λ Σ_i ‖W_dec[:, i]‖ Σ_n F[i, n] / n: the L1 penalty, each latent weighted by its
    decoder column's length and averaged over the n samples (lesson 07)."""
    F, W_dec = np.asarray(F, dtype=float), np.asarray(W_dec, dtype=float)
    n, sums, lengths = F.shape[1], F.sum(axis=1), np.linalg.norm(W_dec, axis=0)

    def mistakes() -> list[Suspect]:
        return _listed("l1_penalty", [
            ("Not averaged: divide by the number of samples (columns), as the reconstruction "
             "loss is.", lam * (sums * lengths).sum()),
            ("Use the columns' lengths, not their squares: ‖W_dec[:, i]‖ is the square root of "
             "the column's sum of squares.", lam * (sums * lengths**2).sum() / n),
            ("Each latent's activations are weighted by the length of its decoder column: "
             "multiply each latent's sum by ‖W_dec[:, i]‖.", lam * sums.sum() / n),
            ("λ is missing: the penalty is λ times the weighted sum.", (sums * lengths).sum() / n),
        ])  # fmt: skip

    return compare(answer, lam * (sums * lengths).sum() / n, "the L1 penalty", mistakes)
