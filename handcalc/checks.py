"""Answer checks that say what went wrong, not just that something did.

`check(step, answer, problem)` compares a learner's matrix with that step of the problem's trace.
When it is wrong, the checker rebuilds the usual mistakes for that step (bias forgotten, ReLU
forgotten, factor 2 missing, norms of rows instead of columns, ...) and names the one the answer
matches; failing that, it says which samples (columns) or entries are off.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import ArrayLike, as_array
from .display import number
from .kl import bernoulli_kl
from .problems import AutoencoderProblem, SAEProblem
from .scale import encoder_flops, sae_parameters
from .steps import relu
from .traces import Trace, autoencoder_trace, sae_trace

TOLERANCE = 1e-6  # answers typed by hand: 0.66 for 0.66, 2.3333 is not 7/3
# Right and wrong: a symbol, its colour and a cell tint (Okabe–Ito blue and vermillion, which
# colour-blind readers can tell apart); never the colour alone.
RIGHT = ("✔", "#0072B2", "#dcebf7")
WRONG = ("✘", "#D55E00", "#fbe3d6")


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer. right: which entries are right (None when the shape is off)."""

    correct: bool
    message: str
    right: np.ndarray | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        symbol, colour, _ = RIGHT if self.correct else WRONG
        return f"<div style='color:{colour}'><b>{symbol}</b> {html.escape(self.message)}</div>"


Mistake = tuple[str, Callable[[np.ndarray], bool]]  # (what went wrong, does the answer show it?)


def _gives(mistaken: ArrayLike) -> Callable[[np.ndarray], bool]:
    """The answer is exactly what this mistake produces."""
    return lambda given: _same(mistaken, given)


def _linear_mistakes(trace: Trace, step: str) -> list[Mistake]:
    W, A, _ = (np.asarray(trace[name], dtype=float) for name in trace.step(step).inputs)
    found = [("You left out the bias: add b to every column of W times the input.", _gives(W @ A))]
    if step != "X_hat":
        found.append((
            f"You applied the ReLU already: {step} is the linear part, before the ReLU "
            "(the ReLU is the next step).",
            _gives(relu(trace[step])),
        ))  # fmt: skip
    if step == "X_hat":
        found.append((
            "The output layer has no ReLU: the reconstruction may be negative, like the data.",
            _gives(relu(trace[step])),
        ))  # fmt: skip
    return found


def _loss_mistakes(trace: Trace, step: str) -> list[Mistake]:
    X_hat, X = np.asarray(trace["X_hat"], float), np.asarray(trace["X"], float)
    if step.startswith("d"):
        return [
            ("The factor 2 is missing: the derivative of (x' − x)² is 2 (x' − x).",
             _gives(X_hat - X)),
            ("The sign is flipped: the gradient is 2 (X' − X), prediction minus target.",
             _gives(2 * (X - X_hat))),
            ("You divided by the number of entries (a mean); the sheet sums the squared errors, "
             "so there is nothing to divide by.", _gives(2 * (X_hat - X) / X.size)),
        ]  # fmt: skip
    return [
        ("That is the mean of the squared errors; the sheet adds them up.",
         _gives(((X_hat - X) ** 2).mean())),
        ("Square each error before adding them up.", _gives((X_hat - X).sum() ** 2)),
    ]  # fmt: skip


def _norm_mistakes(trace: Trace) -> list[Mistake]:
    W_dec = np.asarray(trace["W_dec"], dtype=float)
    return [
        ("Those are the lengths of the rows; each feature is a column of W_dec.",
         _gives(np.sqrt((W_dec**2).sum(axis=1)))),
        ("That is the L1 length (sum of |entries|); the decoder norm is the L2 length, "
         "√(sum of squares).", _gives(np.abs(W_dec).sum(axis=0))),
        ("Take the square root: the length is √(sum of squares).",
         _gives((W_dec**2).sum(axis=0))),
    ]  # fmt: skip


def _l1_grad_mistakes(trace: Trace, step: str) -> list[Mistake]:
    F, expected = np.asarray(trace["F"]), np.asarray(trace[step])
    found = [
        ("The gradient of |f| is +1 where f > 0 (times λ‖d_i‖ after step 8). −1 is the direction "
         "a gradient step moves f, not the gradient.", _gives(-expected)),
        ("A feature that is 0 gets gradient 0: zeros stay zero.",
         lambda given: given.shape == F.shape
         and _same(given[F > 0], expected[F > 0]) and bool(given[F == 0].any())),
    ]  # fmt: skip
    if step == "l1_grad":
        found.append((
            "Multiply each feature's row by λ times the length of its decoder column (step 4).",
            _gives(np.sign(F)),
        ))  # fmt: skip
    return found


def _mistakes(trace: Trace, step: str) -> list[Mistake]:
    """The usual mistakes for one step, most specific first."""
    formula = trace.step(step).formula
    found: list[Mistake] = []
    if step[0] in "Z" or step == "X_hat":
        found += _linear_mistakes(trace, step)
    elif "ReLU" in formula:
        source = np.asarray(trace[trace.step(step).inputs[0]])
        found.append((f"You forgot the ReLU: negative entries of {trace.step(step).inputs[0]} "
                      "become 0.", _gives(source)))  # fmt: skip
    elif step in ("loss", "mse_loss", "dX_hat"):
        found += _loss_mistakes(trace, step)
    elif step == "norms":
        found += _norm_mistakes(trace)
    elif step.startswith("l1_grad"):
        found += _l1_grad_mistakes(trace, step)
    return found


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


def _shape_words(shape: tuple[int, ...]) -> str:
    if len(shape) < 2:
        return "a single number" if shape == () else f"{shape[0]} entries"
    return "shape (" + ", ".join(map(str, shape)) + ")"


def check(
    step: str, answer: ArrayLike, problem: AutoencoderProblem | SAEProblem | Trace
) -> Feedback:
    """Compare answer with step `step` of the problem's trace and say what, if anything, is wrong.

    Entries within 1e-6 of the right value count as right.
    """
    trace = as_trace(problem)
    return compare(answer, trace[step], step, lambda: _mistakes(trace, step))


def compare(
    answer: ArrayLike,
    expected: ArrayLike,
    name: str = "the answer",
    mistakes: Callable[[], list[Mistake]] = list,
) -> Feedback:
    """Compare any answer with the expected array: right, transposed, wrong shape, one of the
    given mistakes, or which samples and entries are off. Entries within 1e-6 count as right."""
    expected = np.asarray(expected, dtype=float)
    given = as_array(answer, "answer")
    if expected.ndim == 1 and given.size == expected.size:
        given = given.reshape(expected.shape)  # a vector typed as a row or a column: same numbers
    right = None
    if given.shape == expected.shape:
        right = np.isclose(given, expected, rtol=0, atol=TOLERANCE)
        if right.all():
            return Feedback(True, f"Correct: that is {name}.", right)
    if given.ndim == 2 and _same(given.T, expected):
        return Feedback(False, "Transposed: your rows are the columns. On the sheet, columns are "
                        "samples and a weight matrix is outputs x inputs.", right)  # fmt: skip
    for message, shows in mistakes():
        if shows(given):
            return Feedback(False, message, right)
    if _same(-expected, given) and expected.any():
        return Feedback(False, "The signs are flipped: every entry has the right size but the "
                        "opposite sign.", right)  # fmt: skip
    if right is None:
        return Feedback(False, f"Wrong shape: {name} has {_shape_words(expected.shape)}; "
                        f"your answer has {_shape_words(given.shape)}.")  # fmt: skip
    return Feedback(False, _where(right, expected, given), right)


def _where(right: np.ndarray, expected: np.ndarray, given: np.ndarray) -> str:
    wrong = np.argwhere(~right)
    if expected.ndim == 2:
        columns = sorted({int(c) for _, c in wrong})
        if len(columns) == 1 and expected.shape[1] > 1:
            return (f"Column {columns[0] + 1} (sample {columns[0] + 1}) is wrong; "
                    "the other columns are right. Redo that sample.")  # fmt: skip
    if len(wrong) == 1:
        index = tuple(int(i) for i in wrong[0])
        place = "" if expected.ndim == 0 else f" at row {index[0] + 1}" + (
            f", column {index[1] + 1}" if expected.ndim == 2 else "")  # fmt: skip
        return (f"One entry is off{place}: you wrote {number(given[index])}. "
                "Check that one multiplication and sum again.")  # fmt: skip
    return f"{len(wrong)} of {right.size} entries are off; the marked cells show which."


def check_kl(answer: ArrayLike, rho: float, rates: ArrayLike) -> Feedback:
    """Check KL(rho || r) for each rate r (lesson 07), naming the usual slips."""
    r = np.asarray(rates, dtype=float)

    def mistakes() -> list[Mistake]:
        return [
            ("The two coins are swapped: that is KL(r || rho). The target rho comes first: "
             "rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r)).",
             _gives(_kl_swapped(rho, r))),
            ("Only the first term: add (1 - rho) log((1 - rho) / (1 - r)), the 'does not fire' "
             "side of the coin.", _gives(rho * np.log(rho / r))),
        ]  # fmt: skip

    return compare(answer, bernoulli_kl(rho, r), "KL(rho || r) for each latent", mistakes)


def _kl_swapped(rho: float, rates: np.ndarray) -> np.ndarray:
    """KL(r || rho): the mistake of putting the measured rate first."""
    return rates * np.log(rates / rho) + (1 - rates) * np.log((1 - rates) / (1 - rho))


def check_topk(answer: ArrayLike, Z: ArrayLike, k: int) -> Feedback:
    """Check TopK(Z, k): each column's (sample's) k largest positive entries kept, the rest 0."""
    Z = np.asarray(Z, dtype=float)

    def keep(mask: np.ndarray) -> np.ndarray:
        return np.where(mask, Z, 0.0)

    by_column = Z >= np.sort(Z, axis=0)[-k]
    by_row = Z >= np.sort(Z, axis=1)[:, [-k]]

    def mistakes() -> list[Mistake]:
        return [
            ("Negative entries kept: TopK keeps the k largest *positive* pre-activations; a "
             "negative one stays 0, as after a ReLU.", _gives(keep(by_column))),
            ("You kept the k largest of each row (latent). TopK works per sample: each column "
             "keeps its own k largest.", _gives(keep(by_row & (Z > 0)))),
        ]  # fmt: skip

    return compare(answer, keep(by_column & (Z > 0)), f"TopK(Z, {k})", mistakes)


def check_top_contexts(answer: ArrayLike, activations: ArrayLike, k: int) -> Feedback:
    """Check the indices of the k largest activations, largest first (lesson 08)."""
    a = np.asarray(activations, dtype=float)
    order = np.argsort(-a, kind="stable")

    def mistakes() -> list[Mistake]:
        return [
            ("Those are the k smallest: sort from the largest down (np.argsort(-a), or reverse "
             "np.argsort(a)).", _gives(np.argsort(a, kind="stable")[:k])),
            ("Those are the activations themselves; return their indices, the positions where "
             "they sit in the array.", _gives(a[order[:k]])),
            ("The right k tokens, but in increasing order: list the largest first.",
             _gives(order[:k][::-1])),
        ]  # fmt: skip

    return compare(answer, order[:k], f"the top {k} tokens", mistakes)


def check_logit_effect(
    answer: ArrayLike, direction: ArrayLike, W_U: ArrayLike, gain: ArrayLike
) -> Feedback:
    """Check W_U (gain * (d - mean d)) (lesson 08), naming the steps left out."""
    d, W_U, gain = (np.asarray(x, dtype=float) for x in (direction, W_U, gain))

    def mistakes() -> list[Mistake]:
        return [
            ("You left out the layer norm's gain: multiply (d - mean d) by gain, entry by "
             "entry, before the unembedding.", _gives(W_U @ (d - d.mean()))),
            ("You left out the centring: the layer norm subtracts the mean of d first.",
             _gives(W_U @ (gain * d))),
            ("You left out both the centring and the gain: the unembedding reads the residual "
             "stream after the final layer norm.", _gives(W_U @ d)),
        ]  # fmt: skip

    return compare(answer, W_U @ (gain * (d - d.mean())), "the logit effect", mistakes)


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

    def mistakes() -> list[Mistake]:
        return [
            ("You left out the error term: add z - decode(f), what the SAE does not explain, "
             "so that only the clamped feature changes.", _gives(decode(clamped))),
            (f"You added {value:g} to the feature; clamping sets it to {value:g}.",
             _gives(decode(added) + error)),
            ("You changed a row of z itself; change the feature in f, then decode.",
             _gives(np.where(np.arange(z.shape[0])[:, None] == latent, value, z))),
        ]  # fmt: skip

    return compare(answer, decode(clamped) + error, "the steered activations", mistakes)


def check_feature_attribution(
    answer: ArrayLike, f: ArrayLike, W_dec: ArrayLike, readout: ArrayLike
) -> Feedback:
    """Check gradient x activation of each feature on m = readout . h (lesson 10):
    f * (W_dec^T readout)."""
    f, W_dec, readout = (np.asarray(x, dtype=float) for x in (f, W_dec, readout))
    gradient = W_dec.T @ readout

    def mistakes() -> list[Mistake]:
        return [
            ("That is the gradient dm/df alone; multiply each entry by the feature's activation "
             "f: attribution is gradient x activation.", _gives(gradient)),
            ("That is activation x the decoder column's length, not its effect on m: go through "
             "the readout, W_dec^T (w_runs - w_run).",
             _gives(f * np.sqrt((W_dec**2).sum(axis=0)))),
        ]  # fmt: skip

    return compare(answer, f * gradient, "each feature's attribution", mistakes)


def check_sae_parameters(answer: float, d: int, m: int) -> Feedback:
    """Check the number of parameters of an SAE of width d with m latents (lesson 11)."""

    def mistakes() -> list[Mistake]:
        return [
            ("You left out the two bias vectors: b_enc has m numbers and b_dec has d.",
             _gives(2 * m * d)),
            ("Only one matrix: the encoder (m x d) and the decoder (d x m) are separate.",
             _gives(m * d + m + d)),
        ]  # fmt: skip

    return compare(answer, sae_parameters(d, m), "the parameter count", mistakes)


def check_encoder_flops(answer: float, d: int, m: int) -> Feedback:
    """Check the FLOPs to encode one token (lesson 11)."""

    def mistakes() -> list[Mistake]:
        return [
            ("You counted a multiply-add as one operation; it is two FLOPs (a multiply and an "
             "add).", _gives(m * d)),
        ]  # fmt: skip

    return compare(answer, encoder_flops(d, m), "the encoder's FLOPs per token", mistakes)
