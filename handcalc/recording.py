"""Answers as plain data, so that a grader judges them where the learner's code cannot reach.

Under handcalc-grade a check cell does not judge. In the learner's kernel ("record": the
grader's runner sets HANDCALC_GRADING) each check call shows the learner's answer as data
(ANSWER: numbers, arrays, tuples, dicts, text; a function's outputs, for checks that take a
function) and judges nothing. The grader then runs the same check cell in a kernel of its own
("judge": HANDCALC_JUDGE), where only the course's code has run: each check call there takes the
recorded answer in place of its own and judges it. Replacing a check in the learner's kernel, or
printing a verdict there, decides nothing.

A call is known by its check's name, its step (for `check`) and how many such calls came before
it in the cell: check:Z1#0, check_atp#1. Outside a graded check cell (at home, in nbgrader,
in a widget) the checks judge as always.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from .feedback import Feedback

ANSWER = "application/vnd.handcalc.answer+json"
MAX_ENTRIES = 2_000_000  # numbers in one recorded answer; more is not an answer to these checks
_KINDS = "biuf"  # bool, int, unsigned, float: the arrays an answer can be

# The calls made so far in the graded check cell that is running ({key: count}), or None
# outside one; `_inside` is True while a check runs, so the checks it calls judge as always.
_calls: ContextVar[dict[str, int] | None] = ContextVar("calls", default=None)
_inside: ContextVar[bool] = ContextVar("inside", default=False)
_answers: dict[str, Any] = {}  # judge: the learner's answers for the cell about to run


def mode() -> str:
    """ "judge", "record" or "" (judge in place, as at home)."""
    if os.environ.get("HANDCALC_JUDGE"):
        return "judge"
    return "record" if os.environ.get("HANDCALC_GRADING") else ""


class Unreadable:
    """An answer the grader cannot take as data (an object, a complex array, too many
    numbers): `why` says what it was."""

    def __init__(self, why: str) -> None:
        self.why = why


def encode(value: Any) -> Any:
    """value as JSON-able plain data; what cannot be (an object, a complex array, too many
    numbers) becomes {"unreadable": what it was}."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return {"tensor": encode(value.detach().cpu().numpy())}
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS:
            return {"unreadable": f"an array of {value.dtype}"}
        if value.size > MAX_ENTRIES:
            return {"unreadable": f"an array of {value.size:,} numbers"}
        return {"array": [value.dtype.str, list(value.shape), value.ravel().tolist()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"plain": value}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, encode(v)] for k, v in value.items()]}
    return {"unreadable": f"a value of type {type(value).__name__}"}


def decode(data: Any) -> Any:
    """encode's value back (arrays as numpy arrays; Unreadable where encode could not)."""
    if not isinstance(data, dict) or len(data) != 1:
        return Unreadable("not an answer the grader wrote")
    ((kind, value),) = data.items()
    try:
        if kind == "plain" and (value is None or isinstance(value, (bool, int, float, str))):
            return value
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [decode(v) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(value, list):
            return {str(k): decode(v) for k, v in value}
        if kind == "array":
            dtype, shape, numbers = np.dtype(value[0]), tuple(int(s) for s in value[1]), value[2]
            if dtype.kind not in _KINDS or len(numbers) > MAX_ENTRIES:
                return Unreadable("an array the grader cannot read")
            array = np.array(numbers, dtype=dtype).reshape(shape)
            return array[()] if array.ndim == 0 else array
        if kind == "tensor":
            import torch

            return torch.from_numpy(np.asarray(decode(value)))
        if kind == "unreadable":
            return Unreadable(str(value))
    except (TypeError, ValueError, IndexError):
        pass
    return Unreadable("an answer the grader cannot read")


def unreadable(value: Any) -> Unreadable | None:
    """The first part of a decoded answer that could not be read, if any."""
    if isinstance(value, Unreadable):
        return value
    parts = value.values() if isinstance(value, dict) else value
    if isinstance(value, (list, tuple, dict)):
        return next((u for u in map(unreadable, parts) if u is not None), None)
    return None


def begin_cell() -> Any:
    """Start counting a graded check cell's calls (the token ends it: end_cell)."""
    return _calls.set({}) if mode() else None


def end_cell(token: Any) -> None:
    if token is not None:
        _calls.reset(token)


def load(path: str | Path) -> None:
    """Judge: the learner's answers for the next check cell, from a JSON file."""
    load_answers(json.loads(Path(path).read_text()))


def load_answers(answers: dict[str, Any]) -> None:
    """Judge: the learner's answers for the next check cell, {key: encoded answer}."""
    _answers.clear()
    _answers.update(answers)


def judged(
    answers: int = 1,
    many: bool = False,
    collect: Callable[..., Any] | None = None,
    step: bool = False,
) -> Callable:
    """Make a check record its answer (the first `answers` arguments; with `collect`, what
    collect(*arguments) returns, for a check that takes the learner's function) in the
    learner's kernel and judge the recorded one in the grader's. many: it returns a list of
    verdicts. step: the call is known by its first argument too (check("Z1", ...))."""

    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def call(*args, **kwargs):
            calls = _calls.get()
            if calls is None or _inside.get():
                return check(*args, **kwargs)
            name = check.__name__ + (f":{args[0]}" if step else "")
            calls[name] = calls.get(name, 0) + 1
            key = f"{name}#{calls[name] - 1}"
            given = slice(1, 1 + answers) if step else slice(0, answers)
            inside = _inside.set(True)
            try:
                if mode() == "record":
                    value = collect(*args, **kwargs) if collect else args[given]
                    _show(key, value)
                    return [] if many else _recorded()
                if key not in _answers:
                    return _refused(many, "No answer of yours reached this check.")
                value = decode(_answers[key])
                bad = unreadable(value)
                if bad is not None:
                    return _refused(many, f"The grader could not read your answer: {bad.why}.")
                if not collect:
                    args = (*args[: given.start], *value, *args[given.stop :])
                else:
                    args = (value, *args[1:])
                return check(*args, **kwargs)
            finally:
                _inside.reset(inside)

        return call

    return wrap


def _show(key: str, value: Any) -> None:
    from IPython.display import display

    display({ANSWER: {"key": key, "value": encode(value)}}, raw=True)


def _recorded():
    return Feedback(True, "(answer recorded: the grader judges it)")


def _refused(many: bool, message: str):
    verdict = Feedback(False, message)
    return [verdict] if many else verdict
