"""Notebook widgets (ipywidgets 8): a grid to type a hand-computed matrix into, and a viewer that
steps through a trace. All of the logic is here, so the tests drive them without a browser.

Right and wrong are shown by a symbol (✔ / ✘) as well as a colour (checks.RIGHT, checks.WRONG).
Each widget holds an Announcer (handcalc.announcer): what changes is read out by a screen reader,
and its menus and buttons keep their keys (↓ picks the next choice) from JupyterLab's shortcuts.

A widget lives in the kernel. When the kernel restarts, JupyterLab keeps the widgets on the page
but cuts them off (it adds the class `jupyter-widgets-disconnected`); the course's style sheet
(STYLE) then says so on each widget, and a grid hides its marks, verdict and buttons, so a ✔
from before the restart is never left beside an answer nobody checked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import ipywidgets as widgets
import numpy as np

from . import answers, display
from .announcer import Announcer
from .checks import RIGHT, WRONG, Feedback, as_trace, check, place
from .display import label
from .explain import HINT_LEVELS, explain, hint
from .figures import figure_html
from .problems import AutoencoderProblem, SAEProblem
from .traces import Trace

# What a widget says once the kernel has restarted (shown by the style sheet STYLE).
RESTART = (
    "The kernel has restarted, so this no longer works. Run the cells above this one (Run menu, "
    "Run All Above Selected Cell), then this cell."
)
RESTART_GRID = (
    "The kernel has restarted, so this grid cannot check any more. Your answers up to the "
    "restart are saved; what you type now is not. Run the cells above this one (Run menu, Run "
    "All Above Selected Cell), then this cell: the grid comes back with your answers."
)
# The first choice of a grid's "Work out" menu (shown, and read out, before a wrong entry is
# picked).
CHOOSE = "choose an entry you got wrong"
# The course's style sheet, carried by every course widget: the restart notice (below), a focus
# ring a keyboard learner can see (3 px, the page's text colour: 3:1 or more against the page
# and against a blue button's fill, which it circles 2 px outside), and placeholders readable on
# a tinted box.
STYLE = f"""
.handcalc-widget :is(button, select, input):focus-visible {{
  outline: 3px solid var(--jp-ui-font-color0, #111) !important; outline-offset: 2px;
}}
.handcalc-widget input::placeholder {{ color: #505050; opacity: 1; }}
.handcalc-widget.jupyter-widgets-disconnected::before {{
  content: "{RESTART}";
  display: block; margin: 4px 0; padding: 6px 8px; white-space: normal;
  font: inherit; color: #8a1010; background: #fff4f4; border: 2px solid #8a1010;
}}
.handcalc-grid.jupyter-widgets-disconnected::before {{ content: "{RESTART_GRID}"; }}
.handcalc-widget .jupyter-widgets-disconnected::before {{ content: none; display: none; }}
.handcalc-grid.jupyter-widgets-disconnected .handcalc-mark,
.handcalc-grid.jupyter-widgets-disconnected .handcalc-verdict,
.handcalc-widget.jupyter-widgets-disconnected .handcalc-said,
.handcalc-grid.jupyter-widgets-disconnected .widget-button,
.handcalc-grid.jupyter-widgets-disconnected .widget-dropdown {{ display: none; }}
.handcalc-grid.jupyter-widgets-disconnected input {{ background: none !important; }}
"""


def first_line(markup: str) -> str:
    """The first line of some HTML (up to its first <br> or paragraph's end), as plain text."""
    line = re.split(r"<br\s*/?>|</p>|</div>|\n", markup, maxsplit=1)[0]
    return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()


def _course_widget(children: list[widgets.Widget], kind: str = "") -> widgets.VBox:
    """The widget's children in a box that says so if the kernel restarts (see STYLE).
    kind: an extra class for the box ("handcalc-grid", "handcalc-gallery")."""
    style = widgets.HTML(f"<style>{STYLE}</style>", layout=widgets.Layout(display="none"))
    box = widgets.VBox([*children, style])
    for name in ("handcalc-widget", kind):
        if name:
            box.add_class(name)
    return box


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

    Rows and columns are labelled (unit 1, sample 2, ...). Each cell is marked ✔ or ✘ and the
    message under the grid says what went wrong; a wrong entry can be worked out with the
    problem's own numbers, and Hint gives hints in steps, the last one the answer.
    """

    def __init__(self, step: str, problem: AutoencoderProblem | SAEProblem | Trace) -> None:
        self.trace = as_trace(problem)
        self.step = step
        self.source = _bound_name(problem)  # the lesson's variable holding this problem
        info = self.trace.step(step)
        shape = display.cells(info.output)  # the grid as the sheet draws it
        self.rows, self.columns = len(shape), len(shape[0])
        axes = self.trace.axes(step)
        self.labels = (_labels(axes, 0, self.rows), _labels(axes, 1, self.columns))
        # Each box is named for a screen reader (its label is there but 0 px wide, so unseen).
        self.cells = [
            [
                widgets.Text(
                    placeholder="?",
                    description=self.box_name(r, c),
                    style={"description_width": "0px"},
                    layout=widgets.Layout(width="4.5em"),
                )
                for c in range(self.columns)
            ]
            for r in range(self.rows)
        ]
        self.marks = [
            [widgets.HTML("&nbsp;").add_class("handcalc-mark") for _ in range(self.columns)]
            for _ in range(self.rows)
        ]
        # No icons on buttons: a screen reader would read the icon font's character as well.
        self.button = widgets.Button(description="Check", button_style="primary")
        self.button.on_click(lambda _: self.check())
        self.hint_button = widgets.Button(description="Hint")
        self.hint_button.on_click(lambda _: self.next_hint())
        self.hint_level = 0
        self.hints = widgets.HTML()
        self.feedback = widgets.HTML().add_class("handcalc-verdict")
        self.wrong_entries = widgets.Dropdown(
            description="Work out",
            options=[(CHOOSE, "")],
            value="",
            layout=widgets.Layout(width="max-content"),
        )
        self.wrong_entries.observe(lambda _: self.show_worked(), names="value")
        self.wrong_entries.layout.display = "none"
        self.worked = widgets.HTML()
        self.said = Announcer()  # what a screen reader reads out: verdict, hint, worked entry
        header = [widgets.HTML("")] + [_label(text) for text in self.labels[1]]
        body = [
            item
            for r in range(self.rows)
            for item in [_label(self.labels[0][r])]
            + [widgets.HBox([self.cells[r][c], self.marks[r][c]]) for c in range(self.columns)]
        ]
        grid = widgets.GridBox(
            (header if any(self.labels[1]) else []) + body,
            layout=widgets.Layout(
                grid_template_columns=f"max-content repeat({self.columns}, max-content)"
            ),
        )
        heading = widgets.HTML(
            f"<b>{html.escape(info.title)}</b>: <code>{html.escape(info.formula)}</code>"
            f"<br><small>{html.escape(self.caption())}</small>"
            f"<details><summary><small>Show what goes in: "
            f"{html.escape(', '.join(_operand_names(info)))}</small></summary>"
            f"{self.trace.operands_html(step)}</details>"
        )
        self.widget = _course_widget(
            [
                heading,
                grid,
                widgets.HBox([self.button, self.hint_button]),
                self.feedback,
                self.wrong_entries,
                self.worked,
                self.hints,
                self.said,
            ],
            "handcalc-grid",
        )
        self._restore()
        for row in self.cells:
            for cell in row:
                cell.observe(lambda _: self._remember(), names="value")

    def caption(self) -> str:
        """What the grid holds and which problem it checks: "dW4 is 4 x 3: a row per output,
        a column per input. Problem: seed 3." """
        axes = self.trace.axes(self.step)
        size = (
            "a single number"
            if not axes
            else (
                f"{self.rows} x {self.columns}: a row per {axes[0]}, a column per {axes[1]}"
                if len(axes) == 2
                else f"{self.rows} entries, one per {axes[0]}"
            )
        )
        problem = "" if self.trace.seed is None else f" Problem: seed {self.trace.seed}."
        return f"{label(self.step)} is {size}.{problem}"

    def texts(self) -> list[list[str]]:
        """What is typed in the grid, row by row."""
        return [[cell.value for cell in row] for row in self.cells]

    def _remember(self) -> None:
        if not answers.save(self.trace, self.step, self.texts()):
            self.feedback.value = (
                "<small>Your answers cannot be saved here (the folder is read-only); they "
                "stay in the grid until the kernel restarts.</small>"
            )

    def _restore(self) -> None:
        saved = answers.load(self.trace, self.step)
        if saved is None:
            return
        texts, when = saved
        if [len(row) for row in texts] != [self.columns] * self.rows:
            return  # the grid has changed shape since: start afresh
        for row, values in zip(self.cells, texts, strict=True):
            for cell, text in zip(row, values, strict=True):
                cell.value = str(text)
        if any(text for row in texts for text in row):
            self.feedback.value = (
                f"<small>Your answers from {html.escape(when)} are back. Press Check to check "
                "them.</small>"
            )

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
        moved_on = self.moved_on()
        if moved_on:
            self._mark(None)
            self._tell(f"<span style='color:{WRONG[1]}'>{html.escape(moved_on)}</span>", moved_on)
            return None
        try:
            answer = self.answer()
        except ValueError as error:
            self._mark(None)
            self._tell(
                f"<span style='color:{WRONG[1]}'>{html.escape(str(error), False)}</span>",
                str(error),
            )
            return None
        result = check(self.step, answer, self.trace)
        right = result.right.reshape(self.rows, self.columns) if result.right is not None else None
        self._mark(np.full((self.rows, self.columns), result.correct) if right is None else right)
        wrong = "" if result.correct else "Wrong. "
        self._tell(result._repr_html_(), wrong + result.message)
        return result

    def _tell(self, markup: str, said: str) -> None:
        """Show Check's verdict under the grid, and have a screen reader read it out."""
        self.feedback.value = markup
        self.said.say(said)

    def moved_on(self) -> str:
        """What to say when the lesson's problem is no longer the one this grid checks (the
        learner changed the seed and ran that cell again), or ""."""
        if self.source is None:
            return ""
        name, original = self.source
        current = _user_namespace().get(name)
        if current is original or not isinstance(current, type(original)):
            return ""
        now = as_trace(current)
        if answers.problem_id(now) == answers.problem_id(self.trace):
            return ""  # the same problem again
        which = {t: "" if t.seed is None else f" (seed {t.seed})" for t in (self.trace, now)}
        return (
            f"This grid checks the problem{which[self.trace]} that {name} was when the grid was "
            f"made, but {name} is now another problem{which[now]}. Run this grid's cell again "
            f"to check {label(self.step)} of the new problem; your answers to the old one are "
            "kept."
        )

    def box_name(self, r: int, c: int, verdict: str = "") -> str:
        """What a screen reader says for box (r, c), counted from 0: "dW4, row 2 of 4 (output
        2), column 3 of 3 (input 3)", and ": right" or ": wrong" after Check."""
        rows, columns = self.labels
        if self.rows == self.columns == 1:  # a single number
            return label(self.step) + (f": {verdict}" if verdict else "")
        where = [f"row {r + 1} of {self.rows}" + (f" ({rows[r]})" if rows[r] else "")]
        if self.columns > 1 or columns[c]:
            where.append(
                f"column {c + 1} of {self.columns}" + (f" ({columns[c]})" if columns[c] else "")
            )
        return f"{label(self.step)}, {', '.join(where)}" + (f": {verdict}" if verdict else "")

    def _mark(self, right: np.ndarray | None) -> None:
        """Mark each cell right or wrong (None: clear the marks), and list the wrong ones."""
        for r in range(self.rows):
            for c in range(self.columns):
                if right is None:
                    self.cells[r][c].style.background = ""
                    self.cells[r][c].description = self.box_name(r, c)
                    self.marks[r][c].value = "&nbsp;"
                    continue
                symbol, colour, background = RIGHT if right[r, c] else WRONG
                word = "right" if right[r, c] else "wrong"
                self.cells[r][c].style.background = background
                self.cells[r][c].description = self.box_name(r, c, word)
                self.marks[r][
                    c
                ].value = (
                    f"<span style='color:{colour}' role='img' aria-label='{word}'>{symbol}</span>"
                )
        wrong = [] if right is None else [tuple(int(i) for i in w) for w in np.argwhere(~right)]
        axes = self.trace.axes(self.step)
        if not axes:
            wrong = []  # a single number: working it out is the whole answer (see Hint)
        self.wrong_entries.options = [(CHOOSE, "")] + [
            (place((r, c)[: len(axes)], axes), (r + 1, c + 1)) for r, c in wrong
        ]
        self.wrong_entries.value = ""
        self.wrong_entries.layout.display = None if wrong else "none"
        self.worked.value = ""

    def show_worked(self) -> None:
        """Work out the chosen wrong entry with the problem's numbers."""
        if not self.wrong_entries.value:
            self.worked.value = ""
            return
        row, col = self.wrong_entries.value
        worked = str(explain(self.step, self.trace, row, col))
        self.worked.value = (
            f"<div style='font-family:monospace;white-space:pre-wrap;margin:4px 0'>"
            f"{html.escape(worked)}</div>"
        )
        self.said.say(worked)

    def next_hint(self) -> None:
        """Show the next hint: the rule in words, the shapes, one entry, then the answer."""
        self.hint_level = min(self.hint_level + 1, HINT_LEVELS)
        items = "".join(
            f"<li style='white-space:pre-wrap'>{html.escape(hint(self.step, self.trace, k))}</li>"
            for k in range(1, self.hint_level + 1)
        )
        self.hints.value = f"<ol style='margin:4px 0'>{items}</ol>"
        self.said.say(f"Hint {self.hint_level} of {HINT_LEVELS}: "
                      f"{hint(self.step, self.trace, self.hint_level)}")  # fmt: skip
        last = self.hint_level == HINT_LEVELS
        self.hint_button.description = (
            "No more hints"
            if last
            else "Show the answer"
            if self.hint_level == HINT_LEVELS - 1
            else f"Hint {self.hint_level + 1} of {HINT_LEVELS}"
        )  # never disabled: a button disabled under the keyboard's focus drops the focus

    def _repr_mimebundle_(self, **kwargs):
        seed = "" if self.trace.seed is None else f" (seed {self.trace.seed})"
        return _bundle(
            self.widget,
            f"Answer grid for {label(self.step)}{seed}. Run this cell to get your grid and "
            "your answers back.",
            **kwargs,
        )


def _bundle(widget: widgets.Widget, text: str, **kwargs) -> dict:
    """The widget's display, with `text` as what a saved notebook shows in its place."""
    bundle = widget._repr_mimebundle_(**kwargs)
    bundle["text/plain"] = text
    return bundle


def _user_namespace() -> dict:
    from IPython import get_ipython

    shell = get_ipython()
    return {} if shell is None else shell.user_ns


def _bound_name(problem: object) -> tuple[str, object] | None:
    """The lesson's variable that holds this problem, e.g. ("mine", problem), if there is one."""
    if isinstance(problem, Trace):
        return None
    names = [n for n, v in _user_namespace().items() if v is problem and not n.startswith("_")]
    return (names[-1], problem) if names else None


def _operand_names(step) -> list[str]:
    """The step's inputs as the formula writes them (H3ᵀ where it is transposed)."""
    written = {name.rstrip("ᵀ"): name for name in step.product}
    return [label(written.get(name, name)) for name in step.inputs]


def _labels(axes: tuple[str, ...], position: int, count: int) -> list[str]:
    """ "unit 1", "unit 2", ... for a grid's rows (position 0) or columns (1); "" if unnamed."""
    if position >= len(axes):
        return [""] * count
    return [f"{axes[position]} {k + 1}" for k in range(count)]


def _label(text: str) -> widgets.HTML:
    return widgets.HTML(f"<small style='color:#444'>{html.escape(text)}</small>")


class TraceViewer:
    """Step through a trace with Back and Next: each step's formula, inputs and output."""

    def __init__(self, trace: Trace, names: list[str] | None = None, start: int = 0) -> None:
        """names: the steps to show, in order (default: all of them)."""
        self.trace = trace
        self.steps = [trace.step(name) for name in (names or trace.names)]
        self.back = widgets.Button(description="Back")
        self.next = widgets.Button(description="Next")
        self.back.on_click(lambda _: self.go(self.position - 1))
        self.next.on_click(lambda _: self.go(self.position + 1))
        self.counter = widgets.HTML()
        self.page = widgets.HTML()
        self.said = Announcer()
        self.widget = _course_widget(
            [widgets.HBox([self.back, self.next, self.counter]), self.page, self.said]
        )
        self.position = 0
        self.go(start)

    def go(self, position: int) -> None:
        self.position = max(0, min(position, len(self.steps) - 1))
        step = self.steps[self.position]
        self.page.value = self.trace.step_html(step.name)
        # Back and Next stay enabled at the ends (a button disabled under the keyboard's focus
        # drops the focus to the top of the page); the counter, read out, says where one is.
        end = " (the first step)" if self.position == 0 else ""
        end = " (the last step)" if self.position == len(self.steps) - 1 else end
        said = f"Step {self.position + 1} of {len(self.steps)}: {label(step.name)}{end}"
        self.counter.value = html.escape(said)
        self.said.say(said)

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(
            self.widget, "Step-by-step viewer. Run this cell to step through it again.", **kwargs
        )


class Gallery:
    """A menu over pages (each an HTML text and, if there is one, a matplotlib figure). A page
    is drawn the first time it is shown and kept, so going back to it answers at once.

    page(option) -> (html, figure or None); the figures are closed once turned into PNGs."""

    def __init__(
        self,
        options: Sequence,
        page: Callable[[Any], tuple[str, Any]],
        description: str,
        value: Any = None,
    ) -> None:
        options = list(options)
        self.page = page
        self.texts: dict[Any, str] = {}
        self.pictures: dict[Any, str] = {}
        # A labelled menu, not a slider: a screen reader names it and reads the value it shows
        # (ipywidgets' slider has no name and reads its position); arrow keys step through it.
        self.choice = widgets.Dropdown(
            options=[(f"{option:g}" if isinstance(option, float) else str(option), option)
                     for option in options],
            value=options[0] if value is None else value,
            description=description,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="max-content"),
        )  # fmt: skip
        self.text = widgets.HTML()
        self.image = widgets.HTML()  # an <img> with alt text (widgets.Image has none)
        self.said = Announcer()
        self.choice.observe(lambda _: self.show(), names="value")
        self.widget = _course_widget(
            [self.choice, self.text, self.image, self.said], "handcalc-gallery"
        )
        self.show()

    def drawn(self, option: Any) -> tuple[str, str]:
        """The page of `option` as (html, the figure as an <img>, "" without one), drawn once."""
        import matplotlib.pyplot as plt

        if option not in self.texts:
            text, figure = self.page(option)
            self.texts[option] = text
            self.pictures[option] = "" if figure is None else figure_html(figure)
            if figure is not None:
                plt.close(figure)
        return self.texts[option], self.pictures[option]

    def show(self) -> None:
        text, picture = self.drawn(self.choice.value)
        self.text.value = text
        self.said.say(f"{self.choice.description} {self.choice.label}: {first_line(text)}")
        self.image.value = picture
        self.image.layout.display = None if picture else "none"

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.widget, "A menu over pictures. Run this cell to see it.", **kwargs)


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
        return self.models[self.choice.value]
