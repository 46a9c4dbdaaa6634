"""The usual mistakes, one table per kind of step.

A table row is a Mistake: a key, what the learner hears, and what the mistake gives, built from
the step's operands by role (kinds.Operands: v.W, v.A, v.G, ...). Messages name the step's own
matrices: {out}, the roles ({W}, {G}, {dH}, ...), {sample}/{samples}, {lr}, and {other} for a
mistake that takes another matrix of the trace by mistake.

`suspects(trace, name)` turns the tables into every mistaken answer for one step, most likely
first: the step's own slips (including every wrong arrangement of a matrix product), then a slip
in one of its inputs carried over, then two slips at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .display import label
from .kinds import KINDS, Operands
from .traces import Trace

Answer = np.ndarray | Callable[[np.ndarray], bool]  # what a mistake gives, or a test for it


@dataclass(frozen=True)
class Mistake:
    """gives(v) -> the mistaken value (a list of values, or None where it cannot happen); with
    others, gives(v, other) for each name others(v) lists."""

    key: str
    message: str
    gives: Callable
    others: Callable[[Operands], list[str]] | None = None


@dataclass(frozen=True)
class Suspect:
    """One mistaken answer: its key (e.g. "relu_backward.mask_forgotten", or with "@dZ3" when
    the slip is in input dZ3), the message, and the answer it gives."""

    key: str
    message: str
    answer: Answer
    double: bool = False


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _encoder_lengths(v: Operands) -> np.ndarray:
    return np.sqrt((v.value("W_enc") ** 2).sum(axis=1))


def _zeros_given_gradient(v: Operands, right: np.ndarray) -> Callable[[np.ndarray], bool]:
    """Right where F > 0, but some entry where F == 0 is not 0."""
    F = v.value("F")
    return lambda given: (
        given.shape == F.shape
        and bool(np.allclose(given[F > 0], right[F > 0]))
        and bool(given[F == 0].any())
    )


def _other_masks(v: Operands) -> list[str]:
    """The other pre-activations (before a ReLU) of the same shape as this step's Z."""
    return [
        s.name
        for s in v.trace
        if s.kind == "linear" and s.name != v.names["Z"] and np.shape(s.output) == v.Z.shape
    ]


def _mask_next(v: Operands) -> list[str]:
    """The pre-activation whose ReLU the next step goes back through (Z3 for dH3), if any."""
    return [
        s.inputs[1] for s in v.trace if s.kind == "relu_backward" and s.inputs[0] == v.step.name
    ]


def _others_updated(v: Operands, role: str) -> list[str]:
    """The other parameters (role "P") or their gradients ("G") with this one's shape."""
    position = ("P", "G").index(role)
    return [
        s.inputs[position]
        for s in v.trace
        if s.kind == "update"
        and s.inputs[position] != v.names[role]
        and np.shape(v.trace[s.inputs[position]]) == getattr(v, role).shape
    ]


def _right(v: Operands) -> np.ndarray:
    return np.asarray(KINDS[v.step.kind].compute(v), dtype=float)


LINEAR = [
    Mistake(
        "bias_forgotten",
        "You left out the bias: add {b} to every column of {W} {A}.",
        lambda v: v.W @ v.A,
    ),
    Mistake(
        "bias_subtracted",
        "You subtracted the bias; it is added: {out} = {W} {A} + {b}.",
        lambda v: v.W @ v.A - v.b[:, None],
    ),
    Mistake(
        "bias_along_rows",
        "You added the bias along the rows ({b}[n] to column n). {b} has one number per "
        "output: add {b}[i] to every entry of row i.",
        lambda v: v.W @ v.A + v.b[None, :] if v.A.shape[1] == v.b.size else None,
    ),
]

ZEROS_STAY_ZERO = Mistake(
    "zeros",
    "A feature that is 0 gets gradient 0: zeros stay zero.",
    lambda v: _zeros_given_gradient(v, _right(v)),
)

TABLES: dict[str, list[Mistake]] = {
    "linear": [
        *LINEAR,
        Mistake(
            "relu_early",
            "You applied the ReLU already: {out} is the linear part, before the ReLU (the "
            "ReLU is the next step).",
            lambda v: _relu(_right(v)),
        ),
        Mistake(
            "bias_forgotten_relu_early",
            "Two slips: you left out the bias {b}, and you applied the ReLU, which is the "
            "next step.",
            lambda v: _relu(v.W @ v.A),
        ),
    ],
    "output": [
        *LINEAR,
        Mistake(
            "relu_on_output",
            "The output layer has no ReLU: the reconstruction may be negative, like the data.",
            lambda v: _relu(_right(v)),
        ),
    ],
    "relu": [
        Mistake(
            "forgotten", "You forgot the ReLU: negative entries of {Z} become 0.", lambda v: v.Z
        ),
        Mistake(
            "kept_negatives",
            "You kept the negative entries and zeroed the positive ones; ReLU keeps the "
            "positive ones: max(0, z).",
            lambda v: np.minimum(v.Z, 0.0),
        ),
        Mistake(
            "absolute",
            "You made the negative entries positive; ReLU sets them to 0: max(0, z), not |z|.",
            lambda v: np.abs(v.Z),
        ),
    ],
    "sum_squares": [
        Mistake(
            "mean",
            "That is the mean of the squared errors; the sheet adds them up.",
            lambda v: ((v.X_hat - v.X) ** 2).mean(),
        ),
        Mistake(
            "square_of_sum",
            "Square each error before adding them up: Σ (x' − x)², not (Σ (x' − x))².",
            lambda v: (v.X_hat - v.X).sum() ** 2,
        ),
        Mistake(
            "not_squared",
            "Square each error: Σ (x' − x)², not Σ (x' − x).",
            lambda v: (v.X_hat - v.X).sum(),
        ),
        Mistake(
            "absolute",
            "That is the sum of |x' − x|; square each error instead.",
            lambda v: np.abs(v.X_hat - v.X).sum(),
        ),
        Mistake(
            "halved",
            "You halved it; the sheet's loss is Σ (x' − x)², with no ½.",
            lambda v: ((v.X_hat - v.X) ** 2).sum() / 2,
        ),
    ],
    "mse_grad": [
        Mistake(
            "factor_two",
            "The factor 2 is missing: the derivative of (x' − x)² is 2 (x' − x).",
            lambda v: v.X_hat - v.X,
        ),
        Mistake(
            "sign",
            "The sign is flipped: the gradient is 2 ({X_hat} − {X}), prediction minus target.",
            lambda v: 2 * (v.X - v.X_hat),
        ),
        Mistake(
            "mean",
            "You divided by the number of entries (a mean); the sheet sums the squared "
            "errors, so there is nothing to divide by.",
            lambda v: 2 * (v.X_hat - v.X) / v.X.size,
        ),
        Mistake(
            "squared",
            "That is the squared error itself; its derivative is 2 (x' − x).",
            lambda v: (v.X_hat - v.X) ** 2,
        ),
    ],
    "weight_grad": [
        Mistake(
            "mean",
            "You divided by the number of {samples}; the loss is a sum, so the gradient adds "
            "up every {sample}'s share without dividing.",
            lambda v: v.G @ v.A.T / v.G.shape[1],
        ),
        Mistake(
            "one_sample",
            "That is the first {sample}'s share alone, {G}[:, 1] {A}[:, 1]ᵀ. Add up the "
            "shares of all the {samples}: that is what the product {G} {A}ᵀ does.",
            lambda v: np.outer(v.G[:, 0], v.A[:, 0]) if v.G.shape[1] > 1 else None,
        ),
    ],
    "bias_grad": [
        Mistake(
            "not_summed",
            "Not summed: {out} has one number per output. The bias was added to every "
            "{sample}, so add up each row of {G}.",
            lambda v: v.G,
        ),
        Mistake(
            "wrong_axis",
            "You added up each column of {G}; add up each row instead (one row per output, "
            "summed over the {samples}).",
            lambda v: v.G.sum(axis=0),
        ),
        Mistake(
            "mean",
            "You took the mean over the {samples}; the loss is a sum, so add them up "
            "without dividing.",
            lambda v: v.G.mean(axis=1),
        ),
        Mistake(
            "total",
            "You added up every entry of {G}; {out} has one number per output: add up each "
            "row on its own.",
            lambda v: v.G.sum(),
        ),
        Mistake(
            "one_sample",
            "That is only the first {sample}'s column of {G}; add up all the {samples}.",
            lambda v: v.G[:, 0],
        ),
    ],
    "input_grad": [  # and wrong arrangements of the product (see PRODUCTS)
        Mistake(
            "mask_early",
            "You applied the ReLU's mask one step early: {out} is {W}ᵀ {G}, unmasked. The mask "
            "(where {other} > 0) belongs to the next step, the way back through the ReLU.",
            lambda v, other: np.where(v.value(other) > 0, _right(v), 0.0),
            others=lambda v: _mask_next(v),
        ),
    ],
    "relu_backward": [
        Mistake(
            "mask_forgotten",
            "You passed the gradient through the ReLU unchanged. {out} is {dH} only where "
            "{Z} > 0; where {Z} ≤ 0 the ReLU gave 0 whatever its input was, so the gradient "
            "there is 0.",
            lambda v: v.dH,
        ),
        Mistake(
            "relu_of_gradient",
            "You applied the ReLU to the gradient (kept its positive entries). The mask "
            "comes from the forward pass: keep {dH} where {Z} > 0, whatever its sign.",
            lambda v: _relu(v.dH),
        ),
        Mistake(
            "times_activation",
            "You multiplied by ReLU({Z}); multiply by the ReLU's slope instead: 1 where "
            "{Z} > 0 and 0 elsewhere.",
            lambda v: v.dH * _relu(v.Z),
        ),
        Mistake(
            "times_pre_activation",
            "You multiplied by {Z}; multiply by the ReLU's slope instead: 1 where {Z} > 0 "
            "and 0 elsewhere.",
            lambda v: v.dH * v.Z,
        ),
        Mistake(
            "mask_inverted",
            "The mask is the wrong way round: keep {dH} where {Z} > 0 and write 0 where {Z} ≤ 0.",
            lambda v: np.where(v.Z <= 0, v.dH, 0.0),
        ),
        Mistake(
            "mask_from_other",
            "You took the mask from {other}; the ReLU you are going back through acted on "
            "{Z}: keep {dH} where {Z} > 0.",
            lambda v, other: np.where(v.value(other) > 0, v.dH, 0.0),
            others=_other_masks,
        ),
    ],
    "update": [
        Mistake(
            "sign",
            "You added the gradient; a step goes against it: new {P} = {P} − lr · {G}.",
            lambda v: v.P + v.lr * v.G,
        ),
        Mistake(
            "lr_forgotten",
            "You left out the learning rate: new {P} = {P} − lr · {G}, with lr = {lr}.",
            lambda v: v.P - v.G,
        ),
        Mistake(
            "change_only",
            "That is the change, −lr · {G}; add it to {P}: new {P} = {P} − lr · {G}.",
            lambda v: -v.lr * v.G,
        ),
        Mistake(
            "step_only",
            "That is lr · {G}; subtract it from {P}: new {P} = {P} − lr · {G}.",
            lambda v: v.lr * v.G,
        ),
        Mistake(
            "swapped",
            "You swapped the parameter and its gradient: new {P} = {P} − lr · {G}, not "
            "{G} − lr · {P}.",
            lambda v: v.G - v.lr * v.P,
        ),
        Mistake(
            "other_gradient",
            "You used {other}, another parameter's gradient; {P} moves against its own "
            "gradient, {G}.",
            lambda v, other: v.P - v.lr * v.value(other),
            others=lambda v: _others_updated(v, "G"),
        ),
        Mistake(
            "other_parameter",
            "You updated {other}; this step updates {P}: new {P} = {P} − lr · {G}.",
            lambda v, other: v.value(other) - v.lr * v.G,
            others=lambda v: _others_updated(v, "P"),
        ),
    ],
    "norms": [
        Mistake(
            "rows",
            "Those are the lengths of the rows; each feature is a column of {W_dec}.",
            lambda v: np.sqrt((v.W_dec**2).sum(axis=1)),
        ),
        Mistake(
            "l1_length",
            "That is the L1 length (sum of |entries|); the decoder length is the L2 length, "
            "√(sum of squares).",
            lambda v: np.abs(v.W_dec).sum(axis=0),
        ),
        Mistake(
            "no_root",
            "Take the square root: the length is √(sum of squares).",
            lambda v: (v.W_dec**2).sum(axis=0),
        ),
        Mistake(
            "encoder",
            "Those are the lengths of the encoder's rows (W_enc). The penalty weighs each "
            "feature by the length of its decoder column, {W_dec}[:, i].",
            _encoder_lengths,
        ),
    ],
    "l1_loss": [
        Mistake(
            "no_lengths",
            "You left out the decoder lengths: weigh each feature's total activation by "
            "‖d_i‖ (step 4) before adding up.",
            lambda v: v.lam * v.F.sum(),
        ),
        Mistake(
            "no_lambda",
            "You left out λ: multiply the weighted total by λ.",
            lambda v: (v.norms * v.F.sum(axis=1)).sum() if v.lam != 1 else None,
        ),
        Mistake(
            "weights",
            "The L1 penalty is on the feature activations F, not on the weights: "
            "λ Σ_i ‖d_i‖ Σ_n |F[i, n]| asks for few active features per token.",
            lambda v: (
                [v.lam * np.abs(v.value(w)).sum() for w in ("W_enc", "W_dec")]
                + [v.lam * (np.abs(v.value("W_enc")).sum() + np.abs(v.value("W_dec")).sum())]
            ),
        ),
        Mistake(
            "encoder_lengths",
            "You weighed each feature by the length of its encoder row; use its decoder "
            "column's length ‖d_i‖ (step 4).",
            lambda v: v.lam * (_encoder_lengths(v) * v.F.sum(axis=1)).sum(),
        ),
        Mistake(
            "on_z",
            "You used Z, before the ReLU; the penalty is on the features F = ReLU(Z).",
            lambda v: [
                v.lam * (v.norms * np.abs(v.value("Z")).sum(axis=1)).sum(),
                v.lam * (v.norms * v.value("Z").sum(axis=1)).sum(),
            ],
        ),
        Mistake(
            "squared_lengths",
            "You squared the lengths; weigh by ‖d_i‖ itself.",
            lambda v: v.lam * (v.norms**2 * v.F.sum(axis=1)).sum(),
        ),
    ],
    "sign": [
        Mistake(
            "direction",
            "The gradient of |f| is +1 where f > 0. −1 is the direction a gradient step "
            "moves f, not the gradient.",
            lambda v: -_right(v),
        ),
        ZEROS_STAY_ZERO,
        Mistake(
            "values",
            "You copied the activations; the derivative of |f| is 1 wherever f > 0, "
            "whatever the size of f.",
            lambda v: v.value("F"),
        ),
    ],
    "l1_grad": [
        Mistake(
            "direction",
            "The gradient of |f| is +1 where f > 0, times λ‖d_i‖. A negative sign is the "
            "direction a gradient step moves f, not the gradient.",
            lambda v: -_right(v),
        ),
        ZEROS_STAY_ZERO,
        Mistake(
            "unweighted",
            "Multiply each feature's row by λ times the length of its decoder column (step 4).",
            lambda v: v.S,
        ),
        Mistake(
            "no_lambda",
            "You left out λ: each entry is λ ‖d_i‖ where F > 0.",
            lambda v: v.norms[:, None] * v.S if v.lam != 1 else None,
        ),
        Mistake(
            "times_activation",
            "You multiplied by the activation too; the derivative of λ ‖d_i‖ f is λ ‖d_i‖, "
            "whatever the size of f.",
            lambda v: v.lam * v.norms[:, None] * v.value("F"),
        ),
        Mistake(
            "encoder_lengths",
            "You used the lengths of the encoder's rows; use the decoder's columns (step 4).",
            lambda v: v.lam * _encoder_lengths(v)[:, None] * v.S,
        ),
    ],
    "total": [
        Mistake("only_first", "That is {a} alone; the total adds {b}.", lambda v: v.a),
        Mistake("only_second", "That is {b} alone; the total adds {a}.", lambda v: v.b),
        Mistake("difference", "Add the two losses; you subtracted {b}.", lambda v: v.a - v.b),
    ],
    "dF": [
        Mistake(
            "no_sparsity",
            "You left out the sparsity term. The penalty acts on F directly, so "
            "dF = {W}ᵀ {G} + {L} (step 8).",
            lambda v: v.W.T @ v.G,
        ),
        Mistake(
            "only_sparsity",
            "That is only the sparsity term; add the reconstruction's gradient brought back "
            "through the decoder, {W}ᵀ {G}.",
            lambda v: v.L,
        ),
        Mistake(
            "sparsity_subtracted",
            "You subtracted the sparsity term; the two gradients add: {W}ᵀ {G} + {L}.",
            lambda v: v.W.T @ v.G - v.L,
        ),
        Mistake(
            "masked_early",
            "You applied the ReLU's mask already; that is the next step (dZ). dF is the "
            "gradient at F, before going back through the ReLU.",
            lambda v: np.where(v.value("Z") > 0, _right(v), 0.0),
        ),
        Mistake(
            "unweighted_sparsity",
            "The sparsity term is {L} from step 8, λ ‖d_i‖ where F > 0, not 1.",
            lambda v: v.W.T @ v.G + (v.value("F") > 0),
        ),
    ],
    "decoder_penalty_grad": [
        Mistake(
            "not_divided",
            "You forgot to divide by the length ‖d_i‖: the derivative of a length ‖d‖ is "
            "the unit direction d / ‖d‖.",
            lambda v: v.lam * v.F.sum(axis=1) * v.W_dec,
        ),
        Mistake(
            "times_length",
            "You multiplied by the length ‖d_i‖; divide by it: the derivative of ‖d‖ is d / ‖d‖.",
            lambda v: v.lam * v.F.sum(axis=1) * v.norms * v.W_dec,
        ),
        Mistake(
            "divided_twice",
            "You divided by ‖d_i‖²; divide by the length once: d / ‖d‖.",
            lambda v: v.lam * v.F.sum(axis=1) / v.norms**2 * v.W_dec,
        ),
        Mistake(
            "count",
            "You counted the {samples} where feature i fires; use its total activation "
            "Σ_n F[i, n].",
            lambda v: v.lam * (v.F > 0).sum(axis=1) / v.norms * v.W_dec,
        ),
        Mistake(
            "no_activations",
            "You left out Σ_n F[i, n]: column i is λ times feature i's total activation, "
            "times d_i / ‖d_i‖.",
            lambda v: v.lam / v.norms * v.W_dec,
        ),
        Mistake(
            "no_lambda",
            "You left out λ: column i is λ (Σ_n F[i, n]) d_i / ‖d_i‖.",
            lambda v: v.F.sum(axis=1) / v.norms * v.W_dec if v.lam != 1 else None,
        ),
    ],
    "sum_parts": [
        Mistake("only_first", "That is {a} alone; add {b}: {out} = {a} + {b}.", lambda v: v.a),
        Mistake("only_second", "That is {b} alone; add {a}: {out} = {a} + {b}.", lambda v: v.b),
        Mistake(
            "difference",
            "The two parts add; you subtracted {b}: {out} = {a} + {b}.",
            lambda v: v.a - v.b,
        ),
    ],
}

# The matrix products, as (left role, transposed?, right role, transposed?): every other way of
# multiplying the two is a mistake, named with the reason below.
PRODUCTS = {
    "linear": ("W", False, "A", False),
    "output": ("W", False, "A", False),
    "weight_grad": ("G", False, "A", True),
    "input_grad": ("W", True, "G", False),
    "dF": ("W", True, "G", False),
}
REASONS = {
    "linear": "The weights come first, as they are (outputs x inputs), and multiply each column "
    "({sample}) of {A}.",
    "weight_grad": "A weight's gradient has the weight's shape, outputs x inputs: {G} comes "
    "first, then {A} transposed, so each {sample}'s gradient meets that {sample}'s input.",
    "input_grad": "The gradient goes back through {W} transposed: {W}ᵀ has one row per input, so "
    "{W}ᵀ {G} has one row per input and one column per {sample}.",
    "dF": "The gradient goes back through the decoder transposed: {W}ᵀ has one row per feature, "
    "so {W}ᵀ {G} has one row per feature and one column per token.",
}
REASONS["output"] = REASONS["linear"]


def _arrangements(v: Operands) -> Iterator[Suspect]:
    """Every other way to multiply the product's two matrices, plus what the step adds."""
    left, left_t, right, right_t = PRODUCTS[v.step.kind]
    a, b = getattr(v, left), getattr(v, right)
    product = (a.T if left_t else a) @ (b.T if right_t else b)
    added = _right(v) - product  # the bias, or the sparsity term of dF
    fields = v.fields()
    plus = {"linear": " + {b}", "output": " + {b}", "dF": " + {L}"}.get(v.step.kind, "")
    seen = [product]
    for first, second in ((left, right), (right, left)):
        for t1 in (False, True):
            for t2 in (False, True):
                x, y = getattr(v, first), getattr(v, second)
                x, y = (x.T if t1 else x), (y.T if t2 else y)
                if x.shape[1] != y.shape[0]:
                    continue
                result = x @ y
                if any(r.shape == result.shape and np.array_equal(r, result) for r in seen):
                    continue
                seen.append(result)
                written = f"{{{first}}}{'ᵀ' if t1 else ''} {{{second}}}{'ᵀ' if t2 else ''}" + plus
                message = (
                    f"You computed {written}, but {v.step.formula}. {REASONS[v.step.kind]}"
                ).format(**fields)
                if result.shape == added.shape:
                    result = result + added
                yield Suspect(f"{v.step.kind}.arrangement", message, result)


def _own(trace: Trace, name: str, replace: dict[str, np.ndarray] | None = None) -> list[Suspect]:
    """The slips of step `name` itself, on its right inputs or on the ones in `replace`."""
    step = trace.step(name)
    v = Operands(trace, step, replace)
    fields = v.fields()
    found: list[Suspect] = []
    for mistake in TABLES[step.kind]:
        key = f"{step.kind}.{mistake.key}"
        for other in mistake.others(v) if mistake.others else [None]:
            gives = mistake.gives(v) if other is None else mistake.gives(v, other)
            message = mistake.message.format(**fields, other=label(other or ""))
            for answer in gives if isinstance(gives, list) else [gives]:
                if answer is not None:
                    answer = answer if callable(answer) else np.asarray(answer, dtype=float)
                    found.append(Suspect(key, message, answer))
    if step.kind in PRODUCTS:
        found.extend(_arrangements(v))
    return found


def _slips(trace: Trace, name: str, depth: int) -> list[Suspect]:
    """Step `name`'s own slips, and those carried into it from up to `depth` steps back."""
    step = trace.step(name)
    found = _own(trace, name)
    if depth == 0:
        return found
    out = label(name)
    for role, source in zip(KINDS[step.kind].roles, step.inputs, strict=True):
        if source not in trace.names:
            continue  # a given matrix: nothing to get wrong upstream
        shape = np.shape(trace[source])
        for slip in _slips(trace, source, depth - 1):
            if callable(slip.answer) or slip.answer.shape != shape:
                continue
            try:
                value = KINDS[step.kind].compute(Operands(trace, step, {role: slip.answer}))
            except ValueError:
                continue  # shapes that do not fit together
            found.append(
                Suspect(
                    f"{slip.key}@{source}",
                    f"This {out} is computed from a wrong {label(source)}. {slip.message}",
                    np.asarray(value, dtype=float),
                )
            )
    return found


def suspects(trace: Trace, name: str) -> list[Suspect]:
    """Every usual mistake for step `name`, most likely first: its own slips, slips carried
    over from the two steps before it, then two slips at once (one here, one just before)."""
    step = trace.step(name)
    doubles: list[Suspect] = []
    for role, source in zip(KINDS[step.kind].roles, step.inputs, strict=True):
        if source not in trace.names:
            continue
        for slip in _own(trace, source):
            if callable(slip.answer) or slip.answer.shape != np.shape(trace[source]):
                continue
            try:
                seconds = _own(trace, name, {role: slip.answer})
            except ValueError:
                continue
            doubles.extend(
                Suspect(
                    f"{second.key}+{slip.key}@{source}",
                    f"Two slips. {second.message} "
                    f"And {label(source)} is wrong too: {_lower(slip.message)}",
                    second.answer,
                    double=True,
                )
                for second in seconds
                if not callable(second.answer)
            )
    return _slips(trace, name, 2) + doubles


def _lower(message: str) -> str:
    return message[0].lower() + message[1:] if message.startswith("You ") else message
