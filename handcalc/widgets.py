"""Notebook widgets (ipywidgets 8): a grid to type a hand-computed matrix into, and a viewer that
steps through a trace. All of the logic is here, so the tests drive them without a browser.

Right and wrong are shown by a symbol (✔ / ✘) as well as a colour (checks.RIGHT, checks.WRONG).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import ipywidgets as widgets
import numpy as np

from . import display
from .checks import RIGHT, WRONG, Feedback, as_trace, check
from .problems import AutoencoderProblem, SAEProblem
from .traces import Trace


def parse_number(text: str) -> float:
    """A number as a learner types it: 3, -2, −2, 0.66, 7/3, -10/3 (spaces are ignored)."""
    cleaned = text.strip().replace("−", "-").replace(" ", "")
    if not cleaned:
        raise ValueError("is empty")
    try:
        return float(Fraction(cleaned))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{text.strip()!r} is not a number (write 3, -2, 0.5 or 7/3)") from None


class MatrixEntry:
    """Type your answer for one step of a problem, cell by cell, then press Check.

    Each cell is marked ✔ or ✘ and the message under the grid says what went wrong.
    """

    def __init__(self, step: str, problem: AutoencoderProblem | SAEProblem | Trace) -> None:
        self.trace = as_trace(problem)
        self.step = step
        info = self.trace.step(step)
        shape = display.cells(info.output)  # the grid as the sheet draws it
        self.rows, self.columns = len(shape), len(shape[0])
        self.cells = [
            [widgets.Text(placeholder="?", layout=widgets.Layout(width="4.5em"))
             for _ in range(self.columns)]
            for _ in range(self.rows)
        ]  # fmt: skip
        self.marks = [
            [widgets.HTML("&nbsp;") for _ in range(self.columns)] for _ in range(self.rows)
        ]
        self.button = widgets.Button(description="Check", button_style="primary", icon="check")
        self.button.on_click(lambda _: self.check())
        self.feedback = widgets.HTML()
        grid = widgets.GridBox(
            [widgets.HBox([cell, mark]) for row in zip(self.cells, self.marks, strict=True)
             for cell, mark in zip(*row, strict=True)],
            layout=widgets.Layout(grid_template_columns=f"repeat({self.columns}, max-content)"),
        )  # fmt: skip
        heading = widgets.HTML(f"<b>{info.title}</b>: <code>{info.formula}</code>")
        self.widget = widgets.VBox([heading, grid, self.button, self.feedback])

    def fill(self, values: np.ndarray | list) -> None:
        """Type values into the grid (what a learner does by hand; handy in tests and demos)."""
        grid = display.cells(values)
        for row, texts in zip(self.cells, grid, strict=True):
            for cell, text in zip(row, texts, strict=True):
                cell.value = text

    def answer(self) -> np.ndarray:
        """The grid as numbers; ValueError names the first cell that is empty or not a number."""
        values = np.empty((self.rows, self.columns))
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                try:
                    values[r, c] = parse_number(cell.value)
                except ValueError as error:
                    raise ValueError(f"Row {r + 1}, column {c + 1} {error}.") from None
        return values

    def check(self) -> Feedback | None:
        try:
            answer = self.answer()
        except ValueError as error:
            self.feedback.value = f"<span style='color:{WRONG[1]}'>{error}</span>"
            return None
        result = check(self.step, answer, self.trace)
        right = result.right.reshape(self.rows, self.columns) if result.right is not None else None
        for r in range(self.rows):
            for c in range(self.columns):
                ok = result.correct if right is None else bool(right[r, c])
                symbol, colour, background = RIGHT if ok else WRONG
                self.cells[r][c].style.background = background
                self.marks[r][c].value = f"<span style='color:{colour}'>{symbol}</span>"
        self.feedback.value = result._repr_html_()
        return result

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class TraceViewer:
    """Step through a trace with Back and Next: each step's formula, inputs and output."""

    def __init__(self, trace: Trace, names: list[str] | None = None, start: int = 0) -> None:
        """names: the steps to show, in order (default: all of them)."""
        self.trace = trace
        self.steps = [trace.step(name) for name in (names or trace.names)]
        self.back = widgets.Button(description="Back", icon="arrow-left")
        self.next = widgets.Button(description="Next", icon="arrow-right")
        self.back.on_click(lambda _: self.go(self.position - 1))
        self.next.on_click(lambda _: self.go(self.position + 1))
        self.counter = widgets.Label()
        self.page = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.back, self.next, self.counter]), self.page])
        self.position = 0
        self.go(start)

    def go(self, position: int) -> None:
        self.position = max(0, min(position, len(self.steps) - 1))
        step = self.steps[self.position]
        self.page.value = display.step_html(step, self.trace)
        self.counter.value = f"Step {self.position + 1} of {len(self.steps)}: {step.name}"
        self.back.disabled = self.position == 0
        self.next.disabled = self.position == len(self.steps) - 1

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class Gallery:
    """A slider over pages that are all drawn up front (each an HTML text and, if there is one,
    a matplotlib figure), so that moving the slider only swaps them and answers at once.

    page(option) -> (html, figure or None); the figures are closed once turned into PNGs."""

    def __init__(
        self,
        options: Sequence,
        page: Callable[[Any], tuple[str, Any]],
        description: str,
        value: Any = None,
    ) -> None:
        import matplotlib.pyplot as plt

        options = list(options)
        self.texts, self.pictures = {}, {}
        for option in options:
            text, figure = page(option)
            self.texts[option] = text
            self.pictures[option] = b"" if figure is None else png(figure)
            if figure is not None:
                plt.close(figure)
        self.slider = widgets.SelectionSlider(
            options=options,
            value=options[0] if value is None else value,
            description=description,
            continuous_update=False,
        )
        self.text = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.slider.observe(lambda _: self.show(), names="value")
        self.widget = widgets.VBox([self.slider, self.text, self.image])
        self.show()

    def show(self) -> None:
        picture = self.pictures[self.slider.value]
        self.text.value = self.texts[self.slider.value]
        self.image.value = picture
        self.image.layout.display = None if picture else "none"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class SuperpositionExplorer(Gallery):
    """A sparsity slider over toy models trained at several sparsities S: for the chosen S, a
    one-line description, the feature directions and WᵀW."""

    def __init__(self, models: list) -> None:
        from .plots import describe, plot_toy_model

        self.models = {model.sparsity: model for model in models}
        super().__init__(
            self.models,
            lambda s: (describe(self.models[s]), plot_toy_model(self.models[s])),
            description="sparsity S",
        )

    @property
    def current(self):
        return self.models[self.slider.value]


def png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, cropped as the notebook crops figures."""
    from io import BytesIO

    buffer = BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
