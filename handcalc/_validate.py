"""Argument checks shared by every public function.

Each check turns what a learner passed (an array, a nested list, a number) into a float64 numpy
array, or raises ValueError/TypeError with a sentence that names the argument, says what was
expected and what was given.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

ArrayLike = Any  # numpy arrays, nested lists of numbers, plain numbers
_trusted = False  # set by trusted(): the caller made every array itself


@contextmanager
def trusted() -> Iterator[None]:
    """Inside this block, as_array takes float64 arrays as they are, without copying or checking
    them: for the trainer's inner loop, which calls the course's functions on arrays it made."""
    global _trusted
    before, _trusted = _trusted, True
    try:
        yield
    finally:
        _trusted = before


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _nested_shape(value: Any, name: str, path: str = "") -> tuple[int, ...]:
    """Shape of a nested list; raises on ragged nesting (numpy would make an object array)."""
    if not isinstance(value, (list, tuple)):
        return ()
    if len(value) == 0:
        return (0,)
    shapes = [_nested_shape(item, name, f"{path}[{i}]") for i, item in enumerate(value)]
    for i, shape in enumerate(shapes[1:], start=1):
        if shape != shapes[0]:
            raise ValueError(
                f"{name} is a ragged nested list: {name}{path}[0] has "
                f"{_count(shapes[0])} but {name}{path}[{i}] has {_count(shape)}. "
                "Every row of a matrix needs the same number of entries."
            )
    return (len(value), *shapes[0])


def _count(shape: tuple[int, ...]) -> str:
    if shape == ():
        return "a single number"
    return f"{shape[0]} entries" if len(shape) == 1 else f"shape {shape}"


def _entries(value: Any):
    """The entries of a nested list (or array), in reading order."""
    if isinstance(value, np.ndarray):
        yield from value.flat
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _entries(item)
    else:
        yield value


def as_array(value: ArrayLike, name: str) -> np.ndarray:
    """`value` as a float64 array of any dimension, with finite entries."""
    if _trusted and isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be numbers (an array or nested list); got the text {value!r}."
        )
    if isinstance(value, (list, tuple)):
        _nested_shape(value, name)
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype == np.bool_
    ):
        raise TypeError(f"{name} must be numbers; got True/False values.")
    array = np.asarray(value)
    if array.dtype.kind in "OUSV":
        bad = next(v for v in _entries(value) if not isinstance(v, numbers.Real))
        shown = repr(str(bad)) if isinstance(bad, (str, np.str_)) else repr(bad)
        raise TypeError(f"{name} must contain only numbers; it contains {shown}.")
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must contain real numbers; got complex numbers.")
    if array.dtype.kind == "b":
        raise TypeError(f"{name} must be numbers; got True/False values.")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[where]) else "an infinite value"
        position = f" at index {where}" if where else ""
        raise ValueError(
            f"{name} contains {kind}{position}. Every entry must be a finite number; "
            "a NaN usually comes from dividing 0 by 0 or from a value that grew without bound."
        )
    return array


def as_matrix(value: ArrayLike, name: str, what: str = "") -> np.ndarray:
    """`value` as a 2-D float64 array. `what` says what its rows and columns are."""
    array = as_array(value, name)
    if array.ndim != 2:
        meaning = f" ({what})" if what else ""
        raise ValueError(
            f"{name} must be a matrix{meaning}, i.e. 2-D; got {array.ndim}-D "
            f"with shape {array.shape}."
            + (" Wrap a single sample as a column: shape (n, 1)." if array.ndim == 1 else "")
        )
    return array


def as_column(value: ArrayLike, name: str, length: int, owner: str) -> np.ndarray:
    """A bias: shape (length,) or (length, 1), returned as shape (length,)."""
    array = as_array(value, name)
    if array.shape in ((length,), (length, 1)):
        return array.reshape(length)
    raise ValueError(
        f"{name} needs one entry per output of {owner} ({length}), as shape ({length},) or "
        f"({length}, 1); got shape {array.shape}."
    )


def as_scalar(value: Any, name: str, positive: bool = False) -> float:
    """A finite real number (not a bool), optionally > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {_describe(value)}: {value!r}.")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number; got {number}.")
    if positive and number <= 0:
        raise ValueError(f"{name} must be greater than 0; got {number}.")
    return number


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str, why: str = "") -> None:
    """Raise unless a and b have the same shape (with a hint when one is the other's transpose)."""
    if a.shape == b.shape:
        return
    hint = ""
    if a.shape == b.shape[::-1]:
        hint = f" {name_a} looks transposed: on the sheet, columns are samples."
    because = f" ({why})" if why else ""
    raise ValueError(
        f"{name_a} and {name_b} must have the same shape{because}; "
        f"got {name_a} {a.shape} and {name_b} {b.shape}.{hint}"
    )


def reduction_name(reduction: Any) -> str:
    if reduction not in ("sum", "mean"):
        raise ValueError(
            f'reduction must be "sum" (the sheet: add up every squared error) or "mean" '
            f"(divide that sum by the number of entries); got {reduction!r}."
        )
    return reduction
