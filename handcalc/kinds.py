"""What each kind of step computes from its inputs, and the rule in words.

Every step of a trace has a kind ("linear", "relu_backward", ...). A kind names the roles its
inputs play, in the order of `Step.inputs` (a weight gradient's inputs are (G, A): the gradient
arriving at the layer's output and the layer's input), and computes the step from them. The
mistake tables (`mistakes`), worked entries and hints (`explain`) are written in those roles, so
one table serves every layer of both traces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .display import label
from .traces import Step, Trace

Value = np.ndarray | float


class Operands:
    """A step's inputs by role (v.W, v.A, ... as float arrays), with the problem's lr and λ.

    replace: {role: array} puts a (mistaken) value in a role's place.
    """

    def __init__(
        self, trace: Trace, step: Step, replace: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self.trace, self.step = trace, step
        self.names = dict(zip(KINDS[step.kind].roles, step.inputs, strict=True))
        values = {role: self.value(name) for role, name in self.names.items()}
        values.update(replace or {})
        self.__dict__.update(values)
        self.lr = float(trace["lr"])

    def value(self, name: str) -> np.ndarray:
        return np.asarray(self.trace[name], dtype=float)

    def fields(self) -> dict[str, str]:
        """The names a message or hint may use: each role's value, out, sample(s), lr."""
        sample = self.trace.axes("X")[-1]
        return {
            **{role: label(name) for role, name in self.names.items()},
            "out": label(self.step.name),
            "sample": sample,
            "samples": sample + "s",
            "lr": f"{self.lr:g}",
        }


@dataclass(frozen=True)
class Kind:
    roles: tuple[str, ...]
    compute: Callable[[Operands], Value]
    words: str  # the rule in words; {out}, {sample(s)}, {lr} and the roles' names are filled in


def _decoder_penalty(v: Operands) -> np.ndarray:
    safe = np.where(v.norms > 0, v.norms, 1.0)
    return np.where(v.norms > 0, v.lam * v.F.sum(axis=1) / safe, 0.0) * v.W_dec


KINDS: dict[str, Kind] = {
    "linear": Kind(
        ("W", "A", "b"),
        lambda v: v.W @ v.A + v.b[:, None],
        "Entry [i, n] of {out} is row i of {W} times column n of {A} (multiply entry by entry, "
        "add up), plus b[i], the bias of output i. The ReLU comes in the next step.",
    ),
    "output": Kind(
        ("W", "A", "b"),
        lambda v: v.W @ v.A + v.b[:, None],
        "Entry [i, n] of {out} is row i of {W} times column n of {A} (multiply entry by entry, "
        "add up), plus b[i]. No ReLU follows: the reconstruction may be negative, like the data.",
    ),
    "relu": Kind(
        ("Z",),
        lambda v: np.maximum(v.Z, 0.0),
        "Copy {Z}, writing 0 wherever an entry is negative: ReLU(z) = max(0, z).",
    ),
    "sum_squares": Kind(
        ("X_hat", "X"),
        lambda v: float(((v.X_hat - v.X) ** 2).sum()),
        "Subtract {X} from {X_hat} entry by entry, square each difference and add them all up "
        "(a sum, not a mean).",
    ),
    "mse_grad": Kind(
        ("X_hat", "X"),
        lambda v: 2 * (v.X_hat - v.X),
        "The derivative of (x' − x)² with respect to x' is 2 (x' − x): each entry of {out} is "
        "2 times (prediction − target), {X_hat} − {X}.",
    ),
    "weight_grad": Kind(
        ("G", "A"),
        lambda v: v.G @ v.A.T,
        "Weight [i, j] multiplied input j on its way to output i, in every {sample}. So "
        "{out}[i, j] adds up, over the {samples}, {G}[i, n] times {A}[j, n]: that is {G} {A}ᵀ.",
    ),
    "bias_grad": Kind(
        ("G",),
        lambda v: v.G.sum(axis=1),
        "The bias was added to every {sample}, so its gradient adds up each row of {G} over the "
        "{samples}: one number per output.",
    ),
    "input_grad": Kind(
        ("W", "G"),
        lambda v: v.W.T @ v.G,
        "Input j reached every output i through weight {W}[i, j], so {out}[j, n] adds up, over "
        "the outputs, {W}[i, j] times {G}[i, n]: that is {W}ᵀ {G}.",
    ),
    "relu_backward": Kind(
        ("dH", "Z"),
        lambda v: np.where(v.Z > 0, v.dH, 0.0),
        "Go back through the ReLU: copy {dH} where {Z} > 0, and write 0 where {Z} ≤ 0 (there "
        "the ReLU gave 0 whatever its input was, so the input has no effect on the loss).",
    ),
    "update": Kind(
        ("P", "G"),
        lambda v: v.P - v.lr * v.G,
        "Step against the gradient, entry by entry: new {P} = {P} − lr · {G}, with lr = {lr}.",
    ),
    "norms": Kind(
        ("W_dec",),
        lambda v: np.sqrt((v.W_dec**2).sum(axis=0)),
        "Feature i's direction is column i of {W_dec}. Its length: square the column's entries, "
        "add them up, take the square root.",
    ),
    "l1_loss": Kind(
        ("F", "norms", "lam"),
        lambda v: float(v.lam * (v.norms * v.F.sum(axis=1)).sum()),
        "Add up each feature's activations (a row of {F}), weigh each total by that feature's "
        "decoder length ‖d_i‖, add the weighted totals and multiply by λ.",
    ),
    "sign": Kind(
        ("S",),
        lambda v: (v.S > 0).astype(float),
        "The derivative of |f| is 1 where f > 0 and 0 where f = 0 (a feature that is off gets "
        "no gradient).",
    ),
    "l1_grad": Kind(
        ("S", "norms", "lam"),
        lambda v: v.lam * v.norms[:, None] * v.S,
        "Where F[i, n] > 0, write λ times feature i's decoder length ‖d_i‖; where F[i, n] = 0, "
        "write 0. A whole row uses the same length.",
    ),
    "total": Kind(("a", "b"), lambda v: float(v.a + v.b), "Add the two losses: {a} + {b}."),
    "dF": Kind(
        ("W", "G", "L"),
        lambda v: v.W.T @ v.G + v.L,
        "Two parts. The reconstruction's gradient comes back through the decoder, {W}ᵀ {G}; "
        "the sparsity penalty acts on F directly and adds {L} (step 8).",
    ),
    "decoder_penalty_grad": Kind(
        ("F", "W_dec", "norms", "lam"),
        _decoder_penalty,
        "The penalty uses the decoder lengths, and the derivative of a length ‖d‖ is the unit "
        "direction d / ‖d‖. So column i is λ times feature i's total activation Σ_n F[i, n], "
        "times column i of {W_dec} divided by its length.",
    ),
    "sum_parts": Kind(
        ("a", "b"), lambda v: v.a + v.b, "Add the two parts entry by entry: {a} + {b}."
    ),
}


def compute(trace: Trace, name: str, replace: Mapping[str, np.ndarray] | None = None) -> Value:
    """Step `name` of the trace recomputed from its inputs, with some roles replaced."""
    step = trace.step(name)
    return KINDS[step.kind].compute(Operands(trace, step, replace))
