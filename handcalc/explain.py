"""One entry worked out with the problem's own numbers, and hints that come in steps.

`explain(step, problem, row, col)` writes how one entry of a step is computed, e.g.
`Z1[2, 3] = W1[2, 1]·X[1, 3] + W1[2, 2]·X[2, 3] + b1[2] = 1·0 + (−1)·(−1) + (−1) = 0`.
`hint(step, problem, level)`: level 1 the rule in words, 2 what goes in and comes out (with
shapes), 3 one entry worked out, 4 the answer. Rows and columns count from 1, as on the sheets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_trace
from .display import label, matrix_text, number
from .kinds import KINDS, Operands
from .problems import AutoencoderProblem, SAEProblem
from .traces import Trace

HINT_LEVELS = 4  # words, shapes, one entry, the answer

Problem = AutoencoderProblem | SAEProblem | Trace


@dataclass(frozen=True)
class Explanation:
    """lhs = symbols = numbers = value, plus a note (why a mask let an entry through, say)."""

    lhs: str
    symbols: str
    numbers: str
    value: str
    note: str = ""

    def __str__(self) -> str:
        note = f"   ({self.note})" if self.note else ""
        return f"{self.lhs} = {self.symbols} = {self.numbers} = {self.value}{note}"


def _n(x: float) -> str:
    """A number inside a sum or product: negative ones and fractions in brackets."""
    text = number(x).replace("-", "−")
    return f"({text})" if text.startswith("−") or "/" in text else text


def _at(name: str, *index: int) -> str:
    return f"{label(name)}[{', '.join(str(i + 1) for i in index)}]"


def _sum(terms: list[str]) -> str:
    return " + ".join(terms)


def explain(step: str, problem: Problem, row: int = 1, col: int = 1) -> Explanation:
    """How entry (row, col) of `step` is computed, counted from 1 as on the sheet. A vector's
    entries are rows (col stays 1); a single number (a loss) ignores row and col."""
    trace = as_trace(problem)
    s = trace.step(step)
    v = Operands(trace, s)
    shape = np.shape(s.output)
    index = _index(shape, row, col, step)
    i, j = (*index, 0, 0)[:2]
    N, out = v.names, label(step)
    lhs = _at(step, *index) if shape else out
    value = number(np.asarray(s.output, dtype=float)[index]).replace("-", "−")
    kind = s.kind

    def entry(symbols: list[str], numbers: list[str], note: str = "") -> Explanation:
        return Explanation(lhs, _sum(symbols), _sum(numbers), value, note)

    if kind in ("linear", "output"):
        k_range = range(v.W.shape[1])
        return entry(
            [f"{_at(N['W'], i, k)}·{_at(N['A'], k, j)}" for k in k_range] + [_at(N["b"], i)],
            [f"{_n(v.W[i, k])}·{_n(v.A[k, j])}" for k in k_range] + [_n(v.b[i])],
        )
    if kind == "relu":
        return entry([f"ReLU({_at(N['Z'], i, j)})"], [f"ReLU({_n(v.Z[i, j])})"])
    if kind == "sum_squares":
        pairs = list(zip(v.X_hat.flat, v.X.flat, strict=True))
        return entry(
            [
                f"Σ ({label(N['X_hat'])}[i, n] − {label(N['X'])}[i, n])² over all {len(pairs)} "
                "entries"
            ],
            [f"({_n(a)} − {_n(b)})²" for a, b in pairs],
        )
    if kind == "mse_grad":
        return entry(
            [f"2·({_at(N['X_hat'], i, j)} − {_at(N['X'], i, j)})"],
            [f"2·({_n(v.X_hat[i, j])} − {_n(v.X[i, j])})"],
        )
    if kind == "weight_grad":
        n_range = range(v.G.shape[1])
        return entry(
            [f"{_at(N['G'], i, n)}·{_at(N['A'], j, n)}" for n in n_range],
            [f"{_n(v.G[i, n])}·{_n(v.A[j, n])}" for n in n_range],
        )
    if kind == "bias_grad":
        n_range = range(v.G.shape[1])
        return entry([_at(N["G"], i, n) for n in n_range], [_n(v.G[i, n]) for n in n_range])
    if kind in ("input_grad", "dF"):
        k_range = range(v.W.shape[0])
        extra = ([_at(N["L"], i, j)], [_n(v.L[i, j])]) if kind == "dF" else ([], [])
        return entry(
            [f"{_at(N['W'], k, i)}·{_at(N['G'], k, j)}" for k in k_range] + extra[0],
            [f"{_n(v.W[k, i])}·{_n(v.G[k, j])}" for k in k_range] + extra[1],
        )
    if kind == "relu_backward":
        z = v.Z[i, j]
        why = "> 0: the ReLU let it through" if z > 0 else "≤ 0: the ReLU cut it off"
        return entry(
            [f"{_at(N['dH'], i, j)}·(1 if {_at(N['Z'], i, j)} > 0, else 0)"],
            [f"{_n(v.dH[i, j])}·{int(z > 0)}"],
            f"{_at(N['Z'], i, j)} = {number(z).replace('-', '−')} {why}",
        )
    if kind == "update":
        at = (i, j)[: len(shape)]
        return Explanation(
            f"new {_at(N['P'], *at)}",
            f"{_at(N['P'], *at)} − lr·{_at(N['G'], *at)}",
            f"{_n(v.P[at])} − {_n(v.lr)}·{_n(v.G[at])}",
            value,
        )
    if kind == "norms":
        rows = range(v.W_dec.shape[0])
        return Explanation(
            f"‖d_{i + 1}‖",
            "√(" + _sum([f"{_at(N['W_dec'], r, i)}²" for r in rows]) + ")",
            "√(" + _sum([f"{_n(v.W_dec[r, i])}²" for r in rows]) + ")",
            value,
        )
    if kind == "l1_loss":
        return entry(
            ["λ·Σ_i ‖d_i‖·Σ_n |F[i, n]|"],
            [
                f"{_n(v.lam)}·("
                + _sum(
                    [
                        f"{_n(v.norms[f])}·(" + _sum([_n(x) for x in v.F[f]]) + ")"
                        for f in range(v.F.shape[0])
                    ]
                )
                + ")"
            ],
        )
    if kind == "sign":
        f = v.value("F")[i, j]
        return entry([f"(1 if F[{i + 1}, {j + 1}] > 0, else 0)"], [f"(1 if {_n(f)} > 0, else 0)"])
    if kind == "l1_grad":
        f = v.value("F")[i, j]
        return entry(
            [f"λ·‖d_{i + 1}‖·(1 if F[{i + 1}, {j + 1}] > 0, else 0)"],
            [f"{_n(v.lam)}·{_n(v.norms[i])}·{int(f > 0)}"],
            f"F[{i + 1}, {j + 1}] = {_n(f)}",
        )
    if kind in ("total", "sum_parts"):
        at = (i, j)[: len(shape)]
        a, b = (np.asarray(x)[at] for x in (v.a, v.b))
        return entry(
            [_at(N["a"], *at), _at(N["b"], *at)] if shape else [N["a"], N["b"]], [_n(a), _n(b)]
        )
    if kind == "decoder_penalty_grad":  # row i is a dim, column j a feature
        totals = _sum([_n(x) for x in v.F[j]])
        return entry(
            [f"λ·(Σ_n F[{j + 1}, n])·{_at(N['W_dec'], i, j)} / ‖d_{j + 1}‖"],
            [f"{_n(v.lam)}·({totals})·{_n(v.W_dec[i, j])} / {_n(v.norms[j])}"],
        )
    raise ValueError(f"no worked entry for steps of kind {kind!r}")  # every kind is covered


def _index(shape: tuple[int, ...], row: int, col: int, step: str) -> tuple[int, ...]:
    """(row, col), counted from 1, as a numpy index into a value of this shape."""
    if not shape:
        return ()
    for what, given, size in zip(("row", "col"), (row, col), (*shape, 1), strict=False):
        if isinstance(given, bool) or not isinstance(given, (int, np.integer)):
            raise TypeError(f"{what} must be a whole number; got {given!r}.")
        if not 1 <= given <= size:
            raise ValueError(
                f"{step} has {size} {'rows' if what == 'row' else 'columns'}, counted from 1; "
                f"got {what}={given}."
            )
    return (row - 1, col - 1)[: len(shape)]


def _shape_text(name: str, value: object) -> str:
    """ "dX': 4 x 4", "b1: 3 entries", "lr = 0.01"."""
    shape = np.shape(value)
    if not shape:
        return f"{label(name)} = {number(float(value))}"  # a given number: λ, lr
    size = f"{shape[0]} entries" if len(shape) == 1 else f"{shape[0]} x {shape[1]}"
    return f"{label(name)}: {size}"


def _axes_text(trace: Trace, name: str) -> str:
    axes = trace.axes(name)
    if len(axes) == 2:
        return f" (a row per {axes[0]}, a column per {axes[1]})"
    return f" (one per {axes[0]})" if axes else ""


def hint(step: str, problem: Problem, level: int = 1) -> str:
    """Hint number `level` (1 to HINT_LEVELS) for one step: the rule in words, what goes in
    and comes out, one entry worked out, then the whole answer."""
    trace = as_trace(problem)
    s = trace.step(step)
    if isinstance(level, bool) or level not in range(1, HINT_LEVELS + 1):
        raise ValueError(f"level must be 1 to {HINT_LEVELS}; got {level!r}.")
    v = Operands(trace, s)
    if level == 1:
        return KINDS[s.kind].words.format(**v.fields())
    if level == 2:
        inputs = [f"{_shape_text(n, trace[n])}{_axes_text(trace, n)}" for n in s.inputs]
        flipped = [
            f"{label(n[:-1])}ᵀ is {label(n[:-1])} turned on its side: "
            + " x ".join(map(str, np.shape(trace[n[:-1]])[::-1]))
            for n in s.product
            if n.endswith("ᵀ")
        ]
        out = (
            f"{_shape_text(step, s.output)}{_axes_text(trace, step)}"
            if np.shape(s.output)
            else f"{label(step)}, a single number"
        )
        return (
            f"{s.formula}. What goes in: {'; '.join(inputs)}."
            + (f" {'; '.join(flipped)}." if flipped else "")
            + f" What comes out: {out}."
        )
    if level == 3:
        worked = explain(step, trace, *_telling_entry(s.output))
        if not np.shape(s.output):  # a single number: show the sum, leave the adding up
            return f"{worked.lhs} = {worked.symbols} = {worked.numbers}. Now add it up."
        return f"One entry worked out: {worked}. The other entries go the same way."
    return f"The answer, {label(step)}:\n" + matrix_text(s.output)


def _telling_entry(output: object) -> tuple[int, int]:
    """The first entry that is not 0 (a worked 0 teaches little), counted from 1."""
    values = np.atleast_1d(np.asarray(output, dtype=float))
    nonzero = np.argwhere(values != 0)
    first = tuple(int(x) + 1 for x in (nonzero[0] if len(nonzero) else (0,) * values.ndim))
    return (*first, 1)[:2]
