"""Check cells that fail kindly.

Every check cell of a lesson runs inside `with hc.exercise():`. When the learner's code raises
(numpy cannot broadcast, a matrix product whose shapes do not fit, a function that returns too
few values or none), the cell prints what went wrong in the course's words first, with the shapes
of the arrays in the learner's function, then the traceback. The unfilled stub's
NotImplementedError passes through unchanged: that exercise is simply not done yet.

Under a grader (handcalc-grade sets HANDCALC_GRADING, nbgrader sets NBGRADER_EXECUTION) the cell
also shows its verdict as data (VERDICT: passed, and each check's message) and, unless every
check it showed was right, ends with NotPassed, so that nbgrader counts the cell as failed. Under
handcalc-grade the learner's kernel judges nothing (handcalc.recording): its VERDICT only says
whether the learner's code raised, and the grader's own kernel judges the recorded answers.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType

import numpy as np

from . import recording
from .checks import WRONG, Feedback, shown
from .feedback import wrapped

_LIBRARIES = ("site-packages", "dist-packages", str(Path(__file__).parent), "/lib/python")
GRADERS = ("HANDCALC_GRADING", "HANDCALC_JUDGE", "NBGRADER_EXECUTION")
VERDICT = "application/vnd.handcalc.verdict+json"
NOT_DONE = "Not done yet: the exercise still raises NotImplementedError."
NO_VERDICT = "The cell showed no verdict."


class NotPassed(Exception):
    """A check cell under a grader whose checks were not all right."""


def grading() -> bool:
    return any(os.environ.get(name) for name in GRADERS)


@contextmanager
def exercise() -> Iterator[None]:
    """Run a check cell's code; if the learner's code raises, say why in the course's words."""
    verdicts: list[Feedback] = []
    token, calls = shown.set(verdicts), recording.begin_cell()
    try:
        yield
    except NotImplementedError:
        _report(verdicts, NOT_DONE)
        raise  # a stub not filled in yet: its own message says what to do
    except Exception as error:  # every error of the learner's code is explained
        print(wrapped(f"{WRONG[0]} {explain_error(error)}"))
        print("\nDetails, for the curious (the last calls before the error):")
        print("".join(traceback.format_exception(error, limit=-3)).rstrip())
        _report(verdicts, explain_error(error), fail=True)
    else:
        _report(verdicts, None if verdicts else NO_VERDICT, fail=True)
    finally:
        shown.reset(token)
        recording.end_cell(calls)


def _report(verdicts: list[Feedback], problem: str | None, fail: bool = False) -> None:
    """Under a grader: show the verdict as data, and end the cell with NotPassed unless every
    check was right (or unless the cell is raising already). In the learner's kernel under
    handcalc-grade the verdict is only whether the code raised ("passed": None)."""
    if not grading():
        return
    from IPython.display import display

    if recording.mode() == "record":
        problem = None if problem == NO_VERDICT else problem
        display({VERDICT: {"passed": None, "problem": problem, "checks": []}}, raw=True)
        if fail and problem:
            raise NotPassed(problem) from None
        return
    wrong = sum(not v.correct for v in verdicts)
    passed = problem is None and not wrong
    checks = [{"correct": v.correct, "message": v.message} for v in verdicts]
    display({VERDICT: {"passed": passed, "problem": problem, "checks": checks}}, raw=True)
    if fail and not passed:
        summary = problem or f"{wrong} of {len(verdicts)} checks are not right yet."
        raise NotPassed(summary) from None


def explain_error(error: BaseException) -> str:
    """What went wrong, in the course's words, and the shapes in the learner's function."""
    frame = _learner_frame(error.__traceback__)
    where = f"Your {frame.f_code.co_name}() " if frame else "Your code "
    shapes = _shapes(frame) if frame else ""
    return f"{where}{_words(error)}" + (f" In it, {shapes}." if shapes else "")


def _learner_frame(tb: TracebackType | None) -> FrameType | None:
    """The innermost call in the learner's own code (not numpy's, not the course's)."""
    found = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not any(part in name for part in _LIBRARIES) and tb.tb_frame.f_code.co_name != (
            "<module>"
        ):
            found = tb.tb_frame
        tb = tb.tb_next
    return found


def _shapes(frame: FrameType) -> str:
    """ "dZ is 3 x 4, W is 4 x 3" for the arrays among the function's arguments (or locals)."""
    code = frame.f_code
    names = list(code.co_varnames[: code.co_argcount]) or list(frame.f_locals)
    described = []
    for name in names:
        value = frame.f_locals.get(name)
        if isinstance(value, np.ndarray):
            size = " x ".join(map(str, value.shape)) if value.ndim else "a single number"
            described.append(
                f"{name} is {size}"
                if value.ndim != 1
                else f"{name} is a vector of {value.shape[0]}"
            )
    return ", ".join(described)


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _words(error: BaseException) -> str:
    message = str(error)
    if m := re.search(
        r"could not be broadcast together with shapes \(([\d,]*)\) \(([\d,]*)\)", message
    ):
        return "adds or multiplies, entry by entry, " + _broadcast(_shape(m[1]), _shape(m[2]))
    if m := re.search(
        r"mismatch in its core dimension 0.*\(size (\d+) is different from (\d+)\)", message
    ):
        return (
            f"multiplies two matrices whose sizes do not fit: A @ B needs as many columns in A "
            f"as rows in B, and here those are {m[2]} and {m[1]}. One of them probably needs a "
            "transpose (.T): for dZ Hᵀ write dZ @ H.T."
        )
    if m := re.search(r"shapes \(([\d,]*)\) and \(([\d,]*)\) not aligned", message):
        return (
            f"multiplies a {_written(_shape(m[1]))} by a {_written(_shape(m[2]))}: A @ B needs "
            "as many columns in A as rows in B. One of them probably needs a transpose (.T)."
        )
    if m := re.search(r"not enough values to unpack \(expected (\d+), got (\d+)\)", message):
        return (
            f"returns {m[2]} values where the check expects {m[1]}: return them all "
            "together, as the docstring says (return a, b, c)."
        )
    if m := re.search(r"too many values to unpack \(expected (\d+)", message):
        return (
            f"returns more values than the {m[1]} the check expects: return just what the "
            "docstring asks for."
        )
    if "truth value of an array with more than one element is ambiguous" in message:
        return (
            "asks whether a whole array is true, as Python's max(0, Z), if Z > 0 or `and` do "
            "with an array: numpy cannot say yes or no for many entries at once. Work entry by "
            "entry instead: np.maximum(0, Z) for the larger of two, np.where(Z > 0, a, b) to "
            "choose, & and | to combine conditions."
        )
    if "NoneType" in message:
        return "returns nothing (None): does it end with a return statement?"
    if m := re.search(r"axis (\d+) is out of bounds for array of dimension (\d+)", message):
        return (
            f"uses axis {m[1]} of an array that has only {m[2]} "
            f"dimension{'s' if m[2] != '1' else ''} (axes 0 to {int(m[2]) - 1}). Print "
            "the shapes: is it a vector where you expected a matrix?"
        )
    return f"raised {type(error).__name__}: {message}"


def _written(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"vector of {shape[0]}"
    return " x ".join(map(str, shape)) + " matrix"


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    """Why arrays of shapes a and b cannot be combined entry by entry."""
    matrix, vector = (a, b) if len(a) == 2 else (b, a)
    if len(matrix) == 2 and len(vector) == 1 and vector[0] == matrix[0]:
        return (
            f"a {matrix[0]} x {matrix[1]} matrix and a vector of {vector[0]}, one number per row "
            "(per output, like a bias). numpy lines a vector up with the columns, not the rows: "
            "make it a column, b[:, None], to add it to every column."
        )
    if len(a) == 2 and a == b[::-1]:
        return (
            f"a {_written(a)} and a {_written(b)}: one of them is transposed. On the sheets, "
            "columns are samples."
        )
    return f"a {_written(a)} and a {_written(b)}, whose shapes do not match."
