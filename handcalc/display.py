"""How numbers and matrices look: as plain text and as HTML grids for notebooks (a trace draws
itself from these: traces.Step and traces.Trace).

Numbers are written the way one writes them by hand: whole numbers as integers, values with at
most two decimals as decimals (0.66), simple fractions as fractions (7/3), anything else to four
decimals.
"""

from __future__ import annotations

import html

import numpy as np

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
        print(f"{name}{dims(value)} =")
    print(matrix_text(value, indent="  " if name else ""))


def dims(value: np.ndarray | float) -> str:
    """A matrix's size as written after its name: " (3 x 4)"; "" for a number."""
    shape = np.shape(value)
    return "" if shape == () else " (" + " x ".join(map(str, shape)) + ")"


_TABLE = "border-collapse:collapse;display:inline-table;vertical-align:middle;margin:2px 6px"
_CELL = "border:1px solid #888;padding:2px 7px;text-align:right;font-family:monospace;min-width:2em"


def matrix_html(name: str, value: np.ndarray | float, mask: np.ndarray | None = None) -> str:
    """A labelled grid, the way a matrix is drawn on the by-hand sheets."""
    rows = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{html.escape(e)}</td>' for e in row) + "</tr>"
        for row in cells(value, mask)
    )
    caption = f"<caption style='caption-side:top'>{html.escape(name)}{dims(value)}</caption>"
    return f'<table style="{_TABLE}">{caption}{rows}</table>'
