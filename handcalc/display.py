"""How numbers, matrices and traces look: as plain text and as HTML grids for notebooks.

Numbers are written the way one writes them by hand: whole numbers as integers, values with at
most two decimals as decimals (0.66), simple fractions as fractions (7/3), anything else to four
decimals.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .traces import Step, Trace

BLANK = "·"  # an entry the sheet has not filled in yet


LABELS = {
    "lam": "λ",
    "X_hat": "X'",
    "dX_hat": "dX'",
    "norms": "‖d_i‖",
    "l1_loss": "L1",
    "l1_grad_pos": "∂|f|/∂f",
    "l1_grad_zeros": "∂|f|/∂f",
    "l1_grad": "∂L1/∂F",
    "mse_loss": "L_mse",
    "loss": "L",
    "dW_dec_mse": "dW_dec (recon.)",
    "dW_dec_l1": "dW_dec (sparsity)",
}


def label(name: str) -> str:
    """How a value's name is written on the sheets, and in every message: X_hat is X', lam is λ,
    W_enc_new is new W_enc, H3ᵀ stays H3ᵀ."""
    if name.endswith("ᵀ"):
        return label(name[:-1]) + "ᵀ"
    if name.endswith("_new"):
        return "new " + label(name[: -len("_new")])
    return LABELS.get(name, name)


def _multiple_of(value: float, step_denominator: int) -> bool:
    scaled = value * step_denominator
    return abs(scaled - round(scaled)) < 1e-9 * max(1.0, abs(scaled))


def number(value: float) -> str:
    """One entry as written on a sheet: 3, -0.5, 0.66, 7/3, 0.1235."""
    value = float(value)
    if _multiple_of(value, 1):
        return str(round(value))
    if _multiple_of(value, 100):
        return f"{value:.2f}".rstrip("0")
    for denominator in range(3, 13):
        if _multiple_of(value, denominator):
            return f"{round(value * denominator)}/{denominator}"
    return f"{value:.4f}".rstrip("0")


def _as_grid(value: np.ndarray | float) -> np.ndarray:
    """A matrix as is, a vector as a column (a bias is a column on the sheets), a number as 1x1."""
    array = np.asarray(value)
    return array[:, None] if array.ndim == 1 else np.atleast_2d(array)


def cells(value: np.ndarray | float, mask: np.ndarray | None = None) -> list[list[str]]:
    """A value as rows of written entries; entries outside mask (if given) are blanks."""
    array = _as_grid(np.asarray(value, dtype=float))
    known = np.ones(array.shape, bool) if mask is None else _as_grid(mask)
    return [
        [number(v) if k else BLANK for v, k in zip(row, known_row, strict=True)]
        for row, known_row in zip(array, known, strict=True)
    ]


def matrix_text(value: np.ndarray | float, mask: np.ndarray | None = None, indent: str = "") -> str:
    """Right-aligned columns between brackets, one line per row."""
    rows = cells(value, mask)
    if np.ndim(value) == 0:
        return indent + rows[0][0]
    width = max(len(entry) for row in rows for entry in row)
    return "\n".join(indent + "[ " + "  ".join(e.rjust(width) for e in row) + " ]" for row in rows)


def show(value: np.ndarray | float, name: str = "") -> None:
    """Print a matrix (or number) the way the sheets write it, under its name if given."""
    if name:
        print(f"{name}{_shape(value)} =")
    print(matrix_text(value, indent="  " if name else ""))


def _shape(value: np.ndarray | float) -> str:
    shape = np.shape(value)
    return "" if shape == () else " (" + " x ".join(map(str, shape)) + ")"


def step_text(step: Step) -> str:
    body = matrix_text(step.output, step.mask, indent="    ")
    return f"{step.title}  -> {label(step.name)}{_shape(step.output)}\n    {step.formula}\n{body}"


def trace_text(trace: Trace) -> str:
    lines = [trace.title, "=" * len(trace.title), "Given:"]
    for name, value in trace.given.items():
        if np.ndim(value) == 0:
            lines.append(f"  {name} = {number(value)}")
        else:
            lines.append(f"  {name}{_shape(value)}\n{matrix_text(value, indent='    ')}")
    lines.append("")
    lines.extend(step_text(step) + "\n" for step in trace)
    return "\n".join(lines).rstrip() + "\n"


_TABLE = "border-collapse:collapse;display:inline-table;vertical-align:middle;margin:2px 6px"
_CELL = "border:1px solid #888;padding:2px 7px;text-align:right;font-family:monospace;min-width:2em"


def matrix_html(name: str, value: np.ndarray | float, mask: np.ndarray | None = None) -> str:
    """A labelled grid, the way a matrix is drawn on the by-hand sheets."""
    rows = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{html.escape(e)}</td>' for e in row) + "</tr>"
        for row in cells(value, mask)
    )
    caption = f"<caption style='caption-side:top'>{html.escape(name)}{_shape(value)}</caption>"
    return f'<table style="{_TABLE}">{caption}{rows}</table>'


def operands_html(step: Step, trace: Trace) -> str:
    """A step's inputs as grids, each as it enters the step: transposed where the formula
    writes ᵀ (dW4 = dX' H3ᵀ shows H3ᵀ, 4 x 3)."""
    written = {name.rstrip("ᵀ"): name for name in step.product}
    grids = []
    for name in step.inputs:
        value, mask = trace[name], trace.step(name).mask if name in trace.names else None
        shown = label(name)
        if written.get(name, name).endswith("ᵀ"):
            shown, value, mask = shown + "ᵀ", np.asarray(value).T, None
        grids.append(matrix_html(shown, value, mask))
    return "".join(grids)


def step_html(step: Step, trace: Trace) -> str:
    output = matrix_html(label(step.name), step.output, step.mask)
    return (
        f"<div style='margin:10px 0'><b>{html.escape(step.title)}</b> "
        f"<code>{html.escape(step.formula)}</code><br>{operands_html(step, trace)}"
        f"<span style='font-size:1.4em;vertical-align:middle'> &rarr; </span>{output}</div>"
    )


def trace_html(trace: Trace) -> str:
    given = "".join(matrix_html(name, value) for name, value in trace.given.items())
    steps = "".join(step_html(step, trace) for step in trace)
    return (
        f"<div><h4>{html.escape(trace.title)}</h4><div><b>Given</b><br>{given}</div>{steps}</div>"
    )
