"""Answer checks that say what went wrong, not just that something did.

`check(step, answer, problem)` compares a learner's matrix with that step of the problem's trace.
When it is wrong, the checker tries the usual mistakes for that kind of step (the tables in
`mistakes`: bias forgotten, ReLU mask forgotten, operands swapped, sparsity term left out, ...)
and names the one the answer matches; failing that, it says which entries are off. Rows and
columns are counted from 1, as on the sheets.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from ._validate import ArrayLike, as_array
from .display import number
from .kl import bernoulli_kl
from .mistakes import Suspect, suspects
from .problems import AutoencoderProblem, SAEProblem
from .recording import judged
from .scale import encoder_flops, sae_parameters
from .traces import Trace, autoencoder_trace, sae_trace

# An entry is right when it is the exact value or that value to four decimals (2.3333 for 7/3).
TOLERANCE = 0.5e-4 + 1e-9
# Right and wrong: a symbol, its colour and a cell tint (Okabe–Ito blue and vermillion, which
# colour-blind readers can tell apart, darkened to 4.5:1 or more on white and on the tint, as
# WCAG AA asks of text); never the colour alone.
RIGHT = ("✔", "#005a8c", "#dcebf7")
WRONG = ("✘", "#a33a00", "#fbe3d6")
SHOWN = 6  # wrong entries listed by name in a message
# The verdicts a check cell has shown so far (printed or displayed), while hc.exercise() runs:
# what the learner sees is what a grader counts.
shown: ContextVar[list[Feedback] | None] = ContextVar("shown", default=None)


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer. right: which entries are right (None when the shape is off).
    mistake: the key of the mistake diagnosed (e.g. "relu_backward.mask_forgotten"), if any."""

    correct: bool
    message: str
    right: np.ndarray | None = None
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        self._shown()
        return self.message

    def _shown(self) -> None:
        verdicts = shown.get()
        if verdicts is not None and all(v is not self for v in verdicts):
            verdicts.append(self)

    def _repr_html_(self) -> str:
        self._shown()
        symbol, colour, _ = RIGHT if self.correct else WRONG
        return f"<div style='color:{colour}'><b>{symbol}</b> {html.escape(self.message)}</div>"


def as_trace(problem: AutoencoderProblem | SAEProblem | Trace) -> Trace:
    if isinstance(problem, Trace):
        return problem
    if isinstance(problem, AutoencoderProblem):
        return autoencoder_trace(problem)
    if isinstance(problem, SAEProblem):
        return sae_trace(problem)
    raise TypeError(
        f"problem must be a problem (hc.autoencoder_problem(seed), hc.sae_problem(seed)) or a "
        f"trace; got {type(problem).__name__}."
    )


def _same(a: ArrayLike, b: ArrayLike) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=TOLERANCE))


def _shows(suspect: Suspect, given: np.ndarray) -> bool:
    answer = suspect.answer
    return answer(given) if callable(answer) else _same(answer, given)


def _shape_words(shape: tuple[int, ...]) -> str:
    if len(shape) < 2:
        return "a single number" if shape == () else f"{shape[0]} entries"
    return "shape (" + ", ".join(map(str, shape)) + ")"


@judged(step=True)
def check(
    step: str, answer: ArrayLike, problem: AutoencoderProblem | SAEProblem | Trace
) -> Feedback:
    """Compare answer with step `step` of the problem's trace and say what, if anything, is wrong.

    Entries equal to the right value, or to it rounded to four decimals, count as right.
    """
    trace = as_trace(problem)
    return compare(answer, trace[step], step, lambda: suspects(trace, step), axes=trace.axes(step))


@judged()
def compare(
    answer: ArrayLike,
    expected: ArrayLike,
    name: str = "the answer",
    mistakes: Callable[[], Iterable[Suspect]] = list,
    axes: tuple[str, ...] = (),
) -> Feedback:
    """Compare any answer with the expected array: right, one of the given mistakes, rounded,
    two slips at once (when no single slip fits and the doubles agree on the slip upstream),
    transposed, the wrong shape, or which entries are off. axes names the rows and columns,
    e.g. ("unit", "sample")."""
    if answer is None:
        return Feedback(False, "Your answer is None: a function that ends without a return "
                        "statement gives None. Return the result.", None, "none")  # fmt: skip
    expected = np.asarray(expected, dtype=float)
    given = as_array(answer, "answer")
    if expected.ndim == 1 and given.size == expected.size:
        given = given.reshape(expected.shape)  # a vector typed as a row or a column: same numbers
    right = None
    if given.shape == expected.shape:
        right = np.abs(given - expected) <= TOLERANCE
        if right.all():
            return Feedback(True, f"Correct: that is {name}.", right)
    found = list(mistakes())
    for suspect in (s for s in found if not s.double):
        if _shows(suspect, given):
            return Feedback(False, suspect.message, right, suspect.key)
    rounded = "" if right is None else _rounded(given, expected, right)
    if rounded:
        return Feedback(False, rounded, right, "rounded")
    doubles = [s for s in found if s.double and _shows(s, given)]
    if doubles and len({s.key.split("+", 1)[1] for s in doubles}) == 1:  # one slip upstream
        return Feedback(False, doubles[0].message, right, doubles[0].key)
    if given.ndim == 2 and _same(given.T, expected):
        return Feedback(False, "Transposed: your rows are the columns. On the sheet, columns are "
                        "samples and a weight matrix is outputs x inputs.", right,
                        "transposed")  # fmt: skip
    if _same(-expected, given) and expected.any():
        return Feedback(False, "The signs are flipped: every entry has the right size but the "
                        "opposite sign.", right, "signs")  # fmt: skip
    if right is None:
        return Feedback(False, f"Wrong shape: {name} has {_shape_words(expected.shape)}; "
                        f"your answer has {_shape_words(given.shape)}.", None,
                        "shape")  # fmt: skip
    return Feedback(False, _where(right, given, axes), right)


def _rounded(given: np.ndarray, expected: np.ndarray, right: np.ndarray) -> str:
    """What to say when every wrong entry is the right value rounded or cut to 1-4 decimals."""
    wrong = ~right
    for decimals in (1, 2, 3, 4):
        scale = 10.0**decimals
        cut = [np.round(expected, decimals), np.trunc(expected * scale) / scale]
        if any(np.allclose(given[wrong], c[wrong], rtol=0, atol=1e-9) for c in cut):
            index = tuple(np.argwhere(wrong)[0])
            plural = "s" if decimals > 1 else ""
            return (
                f"Rounded: you wrote {number(given[index])} where the exact value is "
                f"{number(expected[index])}; that is the right value cut to {decimals} "
                f"decimal{plural}. Type exact values: a fraction such as 7/3, or four decimals "
                "(2.3333)."
            )
    return ""


def place(index: tuple[int, ...], axes: tuple[str, ...]) -> str:
    """Where an entry sits, counted from 1: "row 2 (unit 2), column 3 (sample 3)"."""
    parts = []
    for position, (what, i) in enumerate(zip(("row", "column"), index, strict=False)):
        axis = f" ({axes[position]} {i + 1})" if position < len(axes) else ""
        parts.append(f"{what} {i + 1}{axis}")
    return ", ".join(parts)


def _where(right: np.ndarray, given: np.ndarray, axes: tuple[str, ...]) -> str:
    wrong = [tuple(int(i) for i in w) for w in np.argwhere(~right)]
    if len(wrong) == 1:
        return (f"One entry is off: {place(wrong[0], axes)}, where you wrote "
                f"{number(given[wrong[0]])}. Work that entry out again.")  # fmt: skip
    if right.ndim == 2 and right.shape[1] > 1 and len(axes) == 2:
        columns = sorted({c for _, c in wrong})
        if len(columns) == 1 and axes[1] in ("sample", "token"):
            c = columns[0] + 1
            return (f"Column {c} ({axes[1]} {c}) is wrong; the other columns are right. "
                    f"Redo that {axes[1]}.")  # fmt: skip
        rows = sorted({r for r, _ in wrong})
        if len(rows) == 1 and right.shape[0] > 1:
            r = rows[0] + 1
            return f"Row {r} ({axes[0]} {r}) is wrong; the other rows are right. Redo that row."
    listed = "; ".join(f"{place(w, axes)}: you wrote {number(given[w])}" for w in wrong[:SHOWN])
    more = f"; and {len(wrong) - SHOWN} more" if len(wrong) > SHOWN else ""
    return f"{len(wrong)} of {right.size} entries are off: {listed}{more}."


def _listed(kind: str, mistakes: list[tuple[str, ArrayLike]]) -> list[Suspect]:
    """(message, what the mistake gives) pairs as suspects keyed kind.1, kind.2, ..."""
    return [
        Suspect(f"{kind}.{i}", message, np.asarray(gives, dtype=float))
        for i, (message, gives) in enumerate(mistakes, start=1)
    ]


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
        ])  # fmt: skip

    return compare(answer, keep(by_column & (Z > 0)), f"TopK(Z, {k})", mistakes)


@judged()
def check_jumprelu(answer: ArrayLike, Z: ArrayLike, threshold: ArrayLike) -> Feedback:
    """Check JumpReLU: F = Z where Z > θ (each latent's own threshold, a row's), else 0."""
    from .jumprelu import jumprelu

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
    from .jumprelu import rectangle, threshold_grads

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


@judged()
def check_top_contexts(answer: ArrayLike, activations: ArrayLike, k: int) -> Feedback:
    """Check the indices of the k largest activations, largest first (lesson 08)."""
    a = np.asarray(activations, dtype=float)
    order = np.argsort(-a, kind="stable")

    def mistakes() -> list[Suspect]:
        return _listed("top_contexts", [
            ("Those are the k smallest: sort from the largest down (np.argsort(-a), or reverse "
             "np.argsort(a)).", (np.argsort(a, kind="stable")[:k])),
            ("Those are the activations themselves; return their indices, the positions where "
             "they sit in the array.", (a[order[:k]])),
            ("The right k tokens, but in increasing order: list the largest first.",
             (order[:k][::-1])),
        ])  # fmt: skip

    return compare(answer, order[:k], f"the top {k} tokens", mistakes)


@judged()
def check_logit_effect(
    answer: ArrayLike, direction: ArrayLike, W_U: ArrayLike, gain: ArrayLike
) -> Feedback:
    """Check W_U (gain * (d - mean d)) (lesson 08), naming the steps left out."""
    d, W_U, gain = (np.asarray(x, dtype=float) for x in (direction, W_U, gain))

    def mistakes() -> list[Suspect]:
        return _listed("logit_effect", [
            ("You left out the layer norm's gain: multiply (d - mean d) by gain, entry by "
             "entry, before the unembedding.", (W_U @ (d - d.mean()))),
            ("You left out the centring: the layer norm subtracts the mean of d first.",
             (W_U @ (gain * d))),
            ("You left out both the centring and the gain: the unembedding reads the residual "
             "stream after the final layer norm.", (W_U @ d)),
        ])  # fmt: skip

    return compare(answer, W_U @ (gain * (d - d.mean())), "the logit effect", mistakes)


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
def check_toy_forward(answer: ArrayLike, W: ArrayLike, b: ArrayLike, X: ArrayLike) -> Feedback:
    """Check x' = ReLU(Wᵀ W x + b) for every column x of X (lesson 05)."""
    W, b, X = (np.asarray(x, dtype=float) for x in (W, b, X))
    inner = W.T @ (W @ X) + b[:, None]

    def mistakes() -> list[Suspect]:
        return _listed("toy_forward", [
            ("You left out the ReLU: x' = ReLU(WᵀW x + b). The ReLU is what filters out the "
             "small interference between features.", inner),
            ("You left out the bias b: x' = ReLU(WᵀW x + b). Its negative entries are what let "
             "the ReLU cut the interference off.", np.maximum(W.T @ (W @ X), 0)),
            ("You stopped at the hidden layer h = W x (m numbers per sample); read it back out: "
             "ReLU(Wᵀ h + b).", W @ X),
        ])  # fmt: skip

    return compare(answer, np.maximum(inner, 0), "x'", mistakes)


@judged()
def check_interference(answer: ArrayLike, W: ArrayLike) -> Feedback:
    """Check WᵀW, the features' overlaps (lesson 05)."""
    W = np.asarray(W, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("interference", [
            ("That is W Wᵀ (m x m): how the dimensions overlap. The features are the columns, "
             "so their overlaps are WᵀW (n x n).", W @ W.T),
            ("Those are only the squared lengths (the diagonal); the off-diagonal entries, the "
             "overlaps, are the interference.", np.diag((W**2).sum(axis=0))),
        ])  # fmt: skip

    return compare(answer, W.T @ W, "WᵀW", mistakes)


@judged()
def check_rotation(answer: ArrayLike, W: ArrayLike, degrees: float) -> Feedback:
    """Check R W, W's columns rotated by `degrees` in the hidden plane (lesson 05)."""
    from .superposition import rotate

    W = np.asarray(W, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("rotation", [
            (f"np.cos and np.sin take radians: convert {degrees:g}° first, np.radians(degrees).",
             rotate(W, np.degrees(degrees))),
            ("That rotates the other way (by −θ): R = [[cos θ, −sin θ], [sin θ, cos θ]].",
             rotate(W, -degrees)),
        ])  # fmt: skip

    return compare(answer, rotate(W, degrees), "W rotated", mistakes)


@judged(many=True)
def check_sae_gradients(answer: tuple, sae, X: ArrayLike, lam: float) -> list[Feedback]:
    """Check (loss, grads) of an L1 SAE on a batch X (d, n), averaged over the samples, against
    the trainer's hand gradients (lesson 07): one verdict for the loss and one per gradient."""
    from .backward import l1_decoder_grad
    from .trainer import Penalty, numpy_gradients

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
    from .steps import l1_grad

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
    from .trainer import Penalty, numpy_gradients

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
    from .trainer import SAE

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

    from .trainer import RESAMPLE_SCALE, resample

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
def check_precision_recall(answer, activations: ArrayLike, holds: ArrayLike) -> Feedback:
    """Check (precision, recall) of a latent's firing for a property (lesson 08)."""
    from .features import precision_recall

    a, holds = np.asarray(activations, dtype=float), np.asarray(holds, dtype=bool)
    right = precision_recall(a, holds)
    fires = a > 0

    def mistakes() -> list[Suspect]:
        everywhere = a >= 0  # counting every token as a firing
        return _listed("precision_recall", [
            ("Precision and recall are swapped: precision divides by the tokens where the latent "
             "fires, recall by the tokens where the property holds.", right[::-1]),
            ("A latent fires where its activation is above 0, not at or above 0: a ReLU latent is "
             "0 on most tokens.", ((everywhere & holds).sum() / everywhere.sum(),
                                   (everywhere & holds).sum() / holds.sum())),
            ("Both are divided by all the tokens: divide by the tokens where the latent fires "
             "(precision) and where the property holds (recall).",
             ((fires & holds).mean(), (fires & holds).mean())),
        ])  # fmt: skip

    return compare(answer, right, "(precision, recall)", mistakes)


@judged()
def check_specificity(answer, activations: ArrayLike, holds: ArrayLike, bands: int = 4) -> Feedback:
    """Check the share of firings where the property holds, by band of activation (lesson 08)."""
    from .features import specificity_by_band

    a, holds = np.asarray(activations, dtype=float), np.asarray(holds, dtype=bool)
    right, counts = specificity_by_band(a, holds, bands)
    if answer is not None and np.shape(answer) == right.shape:
        given = np.asarray(answer, dtype=float)
        if not np.array_equal(np.isnan(given), np.isnan(right)):
            return Feedback(False, "An empty band has no share: give nan there (and only there). "
                            f"This latent's band counts are {counts.tolist()}.")  # fmt: skip
        answer, right = np.nan_to_num(given, nan=-1.0), np.nan_to_num(right, nan=-1.0)

    def mistakes() -> list[Suspect]:
        fires = a > 0
        order = np.argsort(a[fires], kind="stable")
        quartile = np.array_split(holds[fires][order], bands)  # bands of equal counts instead
        base = (fires & holds).sum() / fires.sum()
        return _listed("specificity", [
            ("These are bands of equal numbers of tokens (quantiles); the bands here are equal "
             "ranges of activation, from 0 to the latent's peak, in steps of peak / bands.",
             [part.mean() for part in quartile]),
            ("Each band's share is the same: you divided the whole latent's hits by its firings "
             "instead of counting within each band.", [base if c else -1.0 for c in counts]),
        ])  # fmt: skip

    return compare(answer, right, "the share in each band", mistakes)


@judged()
def check_variance_spectrum(answer: ArrayLike, X: ArrayLike) -> Feedback:
    """Check the cumulative share of variance in the first 1, 2, ... principal components."""
    from .features import variance_spectrum

    X = np.asarray(X, dtype=float)
    right = variance_spectrum(X)

    def mistakes() -> list[Suspect]:
        raw = np.linalg.svd(X - X.mean(axis=1, keepdims=True), compute_uv=False)
        power = raw**2
        uncentred = np.linalg.svd(X, compute_uv=False) ** 2
        return _listed("variance_spectrum", [
            ("The singular values are not variances: square them first (the variance along a "
             "component is its singular value squared).", np.cumsum(raw) / raw.sum()),
            ("Each component's own share, not the running total: take np.cumsum.",
             power / power.sum()),
            ("Centre X first (subtract each row's mean): without it the first component points "
             "at the mean, not along the spread.", np.cumsum(uncentred) / uncentred.sum()),
        ])  # fmt: skip

    return compare(answer, right, "the variance spectrum", mistakes)


@judged(answers=2)
def check_hypothesis(latent: int, hypothesis: str, F: ArrayLike, data, acts, read=()) -> Feedback:
    """Test a learner's hypothesis about what a latent means against the grammar's labels (lesson
    08): right when its F1 (precision and recall of firing) is at least 0.75. The feedback also
    says how the reading fits the latent's 20 strongest firings, the evidence a reader sees
    first. `read` lists latents the lesson has already read, which do not count."""
    from .features import hypothesis_holds, precision_recall, top_contexts

    F = np.asarray(F)
    if not isinstance(latent, int | np.integer) or not 0 <= latent < F.shape[0]:
        return Feedback(False, f"my_latent must be a latent's number, 0 to {F.shape[0] - 1}.")
    if latent in read:
        return Feedback(False, f"The lesson has already read latent {latent}; pick one it has not.")
    if not (F[latent] > 0).any():
        return Feedback(False, f"Latent {latent} is dead (it never fires): there is nothing to "
                        "read. Pick a live one.")  # fmt: skip
    if not isinstance(hypothesis, str):
        return Feedback(False, "my_hypothesis must be a string: a property's name or 'word X'.")
    try:
        holds = hypothesis_holds(hypothesis, data, acts)
    except ValueError as error:
        return Feedback(False, str(error))
    precision, recall = precision_recall(F[latent], holds)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    top = top_contexts(F[latent], 20)
    top = top[F[latent, top] > 0]
    fit = int(holds[top].sum())
    numbers = (f"It holds on {fit} of the latent's {top.size} strongest firings. Over all of "
               f"them: precision {precision:.2f} (the share of its firings where "
               f"'{hypothesis}' holds), recall {recall:.2f} (the share of those tokens where it "
               f"fires), F1 {f1:.2f}.")  # fmt: skip
    if f1 >= 0.75:
        return Feedback(True, f"Correct: the labels support your reading. {numbers}")
    if fit < top.size / 2:
        advice = (
            "Your reading does not describe even its strongest firings: go back to its top "
            "contexts and find what the highlighted tokens share."
        )
    elif precision < recall:
        advice = (
            "Your reading fits its strongest firings, but the latent also fires, more weakly, "
            "on many tokens where the reading does not hold: a latent is more than its top "
            "contexts. Look at the dashboard's lower rows and find what those tokens share."
        )
    else:
        advice = (
            "It fires on only some of the tokens where your hypothesis holds: it is narrower. "
            "Which of those tokens does it pick, and what do they share?"
        )
    return Feedback(False, f"Not supported yet. {numbers} {advice}")


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


@judged()
def check_atp(answer, model, data, splice, site: str) -> Feedback:
    """Check a learner's attribution patching at one site (lesson 10): (positions, latents),
    (f_clean - f_corrupt) * dm/df summed over the pairs, as circuits.attribute computes it."""
    import torch

    from .circuits import attribute, metric, run_spliced

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
def check_auroc(answer: float, scores: ArrayLike, positive: ArrayLike) -> Feedback:
    """Check the AUROC of scores as a detector of positive (lesson 08), ties counting half."""
    from .features import auroc

    scores, positive = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    above = scores[positive][:, None] > scores[~positive][None, :]
    ties = scores[positive][:, None] == scores[~positive][None, :]
    pairs = above.size

    def mistakes() -> list[Suspect]:
        return _listed("auroc", [
            ("Ties count for nothing here: a positive and a negative token with the same score "
             "(often both 0) count half a win.", above.sum() / pairs),
            ("Ties count as full wins here; they count half.", (above.sum() + ties.sum()) / pairs),
            ("That is the chance a *negative* token scores higher: 1 − AUROC. Count the pairs "
             "where the positive one is above.", 1 - auroc(scores, positive)),
            ("A count, not a chance: divide the wins by the number of (positive, negative) "
             "pairs.", above.sum() + 0.5 * ties.sum()),
        ])  # fmt: skip

    return compare(answer, auroc(scores, positive), "the AUROC", mistakes)


@judged()
def check_auxk_loss(answer: float, sae, X: ArrayLike, dead: ArrayLike, k_aux: int) -> Feedback:
    """Check the AuxK loss of a TopK SAE on X (lesson 11), naming the usual slips."""
    from .sae import auxk_loss

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


@judged(many=True)
def check_toy_gradients(answer, W: ArrayLike, b: ArrayLike, X: ArrayLike, importance) -> list:
    """Check (loss, dW, db) of lesson 05's toy model on X (n x samples): the mean over samples of
    Σ_i I_i (x_i − x'_i)², x' = ReLU(WᵀW x + b); the gradients from PyTorch's autograd."""
    import torch

    W, b, X, importance = (np.asarray(v, dtype=float) for v in (W, b, X, importance))
    if not isinstance(answer, tuple) or len(answer) != 3:
        return [Feedback(False, "Return three things: the loss, dW and db.")]
    w, bias = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    x = torch.from_numpy(X)
    x_hat = torch.relu(w.T @ (w @ x) + bias[:, None])
    loss = (torch.from_numpy(importance)[:, None] * (x - x_hat) ** 2).sum(0).mean()
    loss.backward()
    Z = W.T @ W @ X + b[:, None]
    X_hat = np.maximum(Z, 0)
    n = X.shape[1]

    def parts(dX_hat: np.ndarray, mask: bool = True) -> tuple[np.ndarray, np.ndarray]:
        dZ = dX_hat * (Z > 0) if mask else dX_hat
        return W @ (X @ dZ.T + dZ @ X.T), dZ.sum(axis=1)

    weighted = 2 * importance[:, None] * (X_hat - X) / n
    dZ = weighted * (Z > 0)
    one_use = (W @ dZ @ X.T, W @ X @ dZ.T)  # each of W's two uses alone
    twice = ("W is used twice, in h = W x and in x' = ReLU(Wᵀ h + b): its gradient has two parts, "
             "W (X dZᵀ + dZ Xᵀ); you have one.")  # fmt: skip

    def slips(which: int):
        def mistakes() -> list[Suspect]:
            return _listed(f"toy_gradients.{'dW' if which == 0 else 'db'}", [
                (twice, one_use[0] if which == 0 else parts(weighted)[1]),
                (twice, one_use[1] if which == 0 else parts(weighted)[1]),
                ("The importance weights are missing: each feature's error is weighted by I_i.",
                 parts(2 * (X_hat - X) / n)[which]),
                ("The ReLU's mask is missing: the gradient passes only where WᵀW x + b > 0.",
                 parts(weighted, mask=False)[which]),
                ("The loss is a mean over samples: divide the gradient by their number too.",
                 parts(weighted * n)[which]),
            ])  # fmt: skip

        return mistakes

    loss_answer, dW, db = answer
    return [
        compare(loss_answer, loss.item(), "the loss"),
        compare(dW, w.grad.numpy(), "dW", slips(0), axes=("hidden dim", "feature")),
        compare(db, bias.grad.numpy(), "db", slips(1)),
    ]


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


@judged()
def check_integrated_gradients(answer, model, data, splice, site: str, steps: int) -> Feedback:
    """Check a learner's integrated gradients for the features at one site (lesson 10), as
    circuits.attribute(steps=steps) computes them: the gradient averaged at α = 1/steps, ..., 1
    on the way from the corrupt features to the clean ones, times their difference."""
    import torch

    from .circuits import attribute

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


@judged()
def check_l0(answer: float, F: ArrayLike) -> Feedback:
    """Check L0, the mean number of active latents per sample (lesson 07)."""
    from .sae import l0

    F = np.asarray(F, dtype=float)

    def mistakes() -> list[Suspect]:
        return _listed("l0", [
            ("That is the share of all entries that are active; L0 counts the active latents "
             "of each sample (a column) and averages those counts.", (F != 0).mean()),
            ("That counts every latent, zeros included: count only the non-zero ones.",
             float(F.shape[0])),
            ("That is the mean activation per sample, not the number of active latents.",
             F.sum(axis=0).mean()),
        ])  # fmt: skip

    return compare(answer, l0(F), "L0", mistakes)


@judged()
def check_variance_explained(answer: float, X: ArrayLike, X_hat: ArrayLike) -> Feedback:
    """Check the fraction of variance explained (lesson 07)."""
    from .sae import variance_explained

    X, X_hat = np.asarray(X, dtype=float), np.asarray(X_hat, dtype=float)
    residual = ((X - X_hat) ** 2).sum()

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
        ])  # fmt: skip

    return compare(answer, variance_explained(X, X_hat), "the variance explained", mistakes)
