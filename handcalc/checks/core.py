"""The checks' common core: Feedback, and compare, which says what went wrong, not just that
something did.

`check(step, answer, problem)` compares a learner's matrix with that step of the problem's trace.
When it is wrong, the checker tries the usual mistakes for that kind of step (the tables in
`mistakes`: bias forgotten, ReLU mask forgotten, operands swapped, sparsity term left out, ...)
and names the one the answer matches; failing that, it says which entries are off. Rows and
columns are counted from 1, as on the sheets. The code exercises' checks, one module per lesson,
build on `compare`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import numpy as np

from .._validate import ArrayLike, as_array
from ..display import label, number
from ..feedback import Feedback
from ..kinds import KINDS, Operands
from ..mistakes import Suspect, suspects
from ..problems import AutoencoderProblem, SAEProblem
from ..recording import judged
from ..traces import Trace, autoencoder_trace, sae_trace

# An entry is right when it is the exact value or that value to four decimals (2.3333 for 7/3).
TOLERANCE = 0.5e-4 + 1e-9
SHOWN = 6  # wrong entries listed by name in a message


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
    step: str,
    answer: ArrayLike,
    problem: AutoencoderProblem | SAEProblem | Trace,
    names: Mapping[str, str] | None = None,
) -> Feedback:
    """Compare answer with step `step` of the problem's trace and say what, if anything, is wrong.

    Entries equal to the right value, or to it rounded to four decimals, count as right.
    names: what the learner's code calls the sheet's values, e.g. {"W1": "W", "b1": "b"} for
    `my_linear(W, b, X)`; the message then says "add b to every column of W X" (the step's
    own name stays the sheet's).
    """
    trace = as_trace(problem)
    verdict = compare(
        answer, trace[step], label(step), lambda: suspects(trace, step), axes=trace.axes(step)
    )
    return renamed(verdict, {k: v for k, v in (names or {}).items() if k != step})


def renamed(verdict: Feedback, names: Mapping[str, str]) -> Feedback:
    """The verdict with each sheet name in `names` written as the learner's name for it (a
    whole name only: W1 becomes W, W1ᵀ becomes Wᵀ, but W12 and dW1 stay)."""
    message = verdict.message
    for sheet, mine in names.items():
        written = re.escape(label(sheet))
        message = re.sub(rf"(?<![\w']){written}(?!(?!ᵀ)[\w'])", mine, message)
    return replace(verdict, message=message)


@judged(many=True)
def check_sheet(
    sheet: dict, problem: AutoencoderProblem | SAEProblem | Trace, names: Iterable[str] = ()
) -> list[Feedback]:
    """Check a whole sheet, {step name: answer}, step by step in the sheet's order (or `names`'):
    one verdict per step, each starting "Step n, <its name on the sheet>". A slip is named at
    the step where it happens; a later step that is right for the learner's own wrong inputs is
    marked as carried from that step, not as a new mistake."""
    trace = as_trace(problem)
    names = list(names) or trace.names
    if not isinstance(sheet, dict):
        return [Feedback(False, f"The sheet must be a dict, {{step name: answer}}; got "
                         f"{type(sheet).__name__}.", None, "type")]  # fmt: skip
    verdicts: list[Feedback] = []
    wrong: dict[str, int] = {}  # a wrong step's name -> the number of the step its slip is at
    for number_, name in enumerate(names, start=1):
        title = f"Step {number_}, {label(name)}"
        if name not in sheet:
            wrong[name] = number_
            verdicts.append(Feedback(False, f"{title}: missing; return it under the key "
                                     f"{name!r}.", None, "missing"))  # fmt: skip
            continue
        try:
            verdict = check(name, sheet[name], trace)
        except (TypeError, ValueError) as error:  # not numbers, or not a matrix: say so here
            wrong[name] = number_
            verdicts.append(Feedback(False, f"{title}: {error}", None, "unreadable"))
            continue
        if verdict.correct:
            verdicts.append(Feedback(True, f"{title}: correct.", verdict.right))
            continue
        carried = _carried_from(trace, name, sheet, wrong)
        if carried is not None:
            wrong[name] = origin = wrong[carried]
            verdicts.append(Feedback(False, f"{title}: right for your {label(carried)}, carried "
                                     f"from the slip at step {origin} "
                                     f"({label(names[origin - 1])}); it comes right when that "
                                     "step does.", verdict.right, "carried"))  # fmt: skip
            continue
        wrong[name] = number_
        message = verdict.message
        source = (verdict.mistake or "").rpartition("@")[2]
        if source in trace.names and source not in wrong and "+" not in (verdict.mistake or ""):
            slip = message.split(". ", 1)[-1]
            message = (f"it is what a wrong {label(source)} would give ({_lower(slip)}), yet "
                       f"your {label(source)} is right: compute {label(name)} from your "
                       f"{label(source)}.")  # fmt: skip
        verdicts.append(Feedback(False, f"{title}: {message}", verdict.right, verdict.mistake))
    return verdicts


def _lower(message: str) -> str:
    """A message to go inside a sentence: its first letter lower-cased, its last full stop off."""
    return (message[:1].lower() + message[1:]).rstrip(".")


def _carried_from(trace: Trace, name: str, sheet: dict, wrong: dict[str, int]) -> str | None:
    """The earliest wrong input step that, with the learner's own values for the wrong inputs,
    makes the learner's answer at step `name` right; None if it is not right even so."""
    step = trace.step(name)
    kind = KINDS[step.kind]
    wrong_inputs = {
        role: source
        for role, source in zip(kind.roles, step.inputs, strict=True)
        if source in wrong and source in sheet
    }
    if not wrong_inputs:
        return None
    try:
        replace = {
            role: as_array(sheet[source], label(source)) for role, source in wrong_inputs.items()
        }
        value = np.asarray(kind.compute(Operands(trace, step, replace)), dtype=float)
        mine = as_array(sheet[name], label(name))
    except (ValueError, TypeError):
        return None  # an input or the answer that cannot be read: not a carried slip
    if mine.size == value.size:
        mine = mine.reshape(value.shape)  # a vector typed as a row or a column
    if not _same(mine, value):
        return None
    return min(wrong_inputs.values(), key=lambda source: wrong[source])


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
    if expected.ndim == 0:
        return Feedback(False, _off_by(float(given), float(expected), name), right)
    return Feedback(False, _where(right, given, axes), right)


def _whole(x: float) -> int:
    """x as a whole number when it is one (to a millionth), else 0."""
    return round(x) if abs(x - round(x)) <= 1e-6 * max(1.0, abs(x)) else 0


def _off_by(given: float, expected: float, name: str) -> str:
    """What to say about a wrong single number: what was written and, in words, how it compares
    with the right value (a whole factor often points at a sum for a mean, or the reverse)."""
    start = f"Not {name} yet: you wrote {number(given)}"
    if expected == 0:
        return f"{start}; the right value is 0."
    ratio = given / expected
    if ratio < 0:
        return (f"{start}, which has the opposite sign of the right value, at "
                f"{abs(ratio):.2g} times its size. Check each sign on the way.")  # fmt: skip
    if ratio > 1 and _whole(ratio) >= 2:
        return (f"{start}, exactly {_whole(ratio)} times the right value. A factor that does not "
                "belong, or a sum where a mean belongs?")  # fmt: skip
    if 0 < ratio < 1 and _whole(1 / ratio) >= 2:
        return (f"{start}, exactly 1/{_whole(1 / ratio)} of the right value. A division too "
                "many, or a mean where a sum belongs?")  # fmt: skip
    return f"{start}, about {ratio:.2g} times the right value. Work it out again, step by step."


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
