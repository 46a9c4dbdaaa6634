"""Printable worksheets and answer keys, drawn from a trace.

    python -m handcalc.worksheet sae --seed 7 --count 30 --paper letter --answers --out sheets.pdf

A sheet prints the given matrices in full, then every step to compute: its title, its formula
and an empty grid of exactly the result's shape. A matrix product is laid out the way it is
done by hand: the left operand beside the result (its rows line up with the result's rows), the
top operand above the result (its columns line up), and a bias as one more column of the left
operand, over a row of 1s under the top one (the bias trick). An operand that is an earlier
answer is drawn dashed, to be copied in. The answer key is the same pages with every grid
filled in, answers in blue.

Text is real text in an embedded TrueType font (DejaVu Sans): numbers 10 pt, labels 9 pt, and
nothing smaller than 8 pt. Paper: A4 or US Letter. A step is never split across pages. The
same arguments give the same bytes. A seed gives the same problem on any machine, so a class
set's answer keys can be printed later from the seeds alone.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .display import BLANK, cells, label
from .seeds import autoencoder_problem, sae_problem
from .traces import Step, Trace, autoencoder_trace, sae_trace

PAPERS = {"a4": (210 / 25.4, 297 / 25.4), "letter": (8.5, 11.0)}  # inches
MARGIN = 0.6
NUMBER_PT, LABEL_PT, TITLE_PT, SMALLEST_PT = 10, 9, 14, 8
CELL_H = 0.28  # inches
CHAR_W = 0.09  # a digit, minus sign or slash at 10 pt is at most this wide
LABEL_CHAR_W = 0.085  # a generous average for 9 pt labels
GAP = 0.14
ANSWER, GIVEN, FAINT = "#0072B2", "black", "0.55"


@dataclass(frozen=True)
class Exercise:
    """A worksheet: which problem, and which of its trace's steps the learner computes."""

    title: str
    trace: Callable[[int], Trace]
    steps: Callable[[Trace, bool], list[str]]


def _autoencoder(seed: int) -> Trace:
    return autoencoder_trace(autoencoder_problem(seed))


def _sae(seed: int) -> Trace:
    return sae_trace(sae_problem(seed))


def _until(trace: Trace, last: str) -> list[str]:
    return trace.names[: trace.names.index(last) + 1]


EXERCISES = {
    "linear": Exercise("A linear layer and ReLU", _autoencoder, lambda t, _: ["Z1", "H1"]),
    "forward": Exercise(
        "The autoencoder's forward pass", _autoencoder, lambda t, _: _until(t, "X_hat")
    ),
    "backward": Exercise(
        "The autoencoder's backward pass",
        _autoencoder,
        lambda t, _: t.names[t.names.index("loss") :],
    ),
    "sae": Exercise(
        "A sparse autoencoder by hand",
        _sae,
        lambda t, gradients: t.names if gradients else _until(t, "dX_hat"),
    ),
}

# ---------------------------------------------------------------------------------------------
# Drawing: a page in inches, measured from its top-left corner.


class Page:
    def __init__(self, figure, size: tuple[float, float]) -> None:
        self.figure, (self.width, self.height) = figure, size

    def text(self, x: float, y: float, s: str, size: float = LABEL_PT, **kw) -> None:
        kw.setdefault("va", "baseline")
        self.figure.text(x / self.width, 1 - y / self.height, s, fontsize=size, **kw)

    def box(self, x: float, y: float, w: float, h: float, **kw) -> None:
        from matplotlib.patches import Rectangle

        kw.setdefault("linewidth", 0.5)
        kw.setdefault("edgecolor", "0.45")
        kw.setdefault("facecolor", "none")
        corner = (x / self.width, 1 - (y + h) / self.height)
        size = (w / self.width, h / self.height)
        self.figure.add_artist(Rectangle(corner, *size, transform=self.figure.transFigure, **kw))

    def line(self, x0: float, y0: float, x1: float, y1: float, **kw) -> None:
        from matplotlib.lines import Line2D

        xs, ys = [x0 / self.width, x1 / self.width], [1 - y0 / self.height, 1 - y1 / self.height]
        self.figure.add_artist(Line2D(xs, ys, transform=self.figure.transFigure, **kw))


@dataclass
class Block:
    """Something of a known size that draws itself with its top-left corner at (x, y)."""

    width: float
    height: float
    draw: Callable[[Page, float, float], None]


@dataclass
class Grid:
    """A matrix to draw: entries (None for an empty cell), their colour, and the cell width."""

    entries: list[list[str | None]]
    colour: str = GIVEN
    dashed: bool = False
    cell_w: float = 0.45
    split_col: int | None = None  # a bias column (or a row of 1s) starts here
    split_row: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.entries), len(self.entries[0])

    @property
    def width(self) -> float:
        return self.shape[1] * self.cell_w

    @property
    def height(self) -> float:
        return self.shape[0] * CELL_H

    def draw(self, page: Page, x: float, y: float) -> None:
        rows, cols = self.shape
        style = {"linestyle": (0, (3, 2))} if self.dashed else {}
        for i in range(rows):
            for j in range(cols):
                page.box(x + j * self.cell_w, y + i * CELL_H, self.cell_w, CELL_H, **style)
        page.box(x, y, self.width, self.height, linewidth=1.1, edgecolor="black", **style)
        if self.split_col is not None:
            sx = x + self.split_col * self.cell_w
            page.line(sx, y, sx, y + self.height, linewidth=1.1, color="black")
        if self.split_row is not None:
            sy = y + self.split_row * CELL_H
            page.line(x, sy, x + self.width, sy, linewidth=1.1, color="black")
        for i, row in enumerate(self.entries):  # row by row: the text comes out in reading order
            for j, entry in enumerate(row):
                if entry is not None:
                    page.text(
                        x + (j + 0.5) * self.cell_w,
                        y + (i + 0.68) * CELL_H,
                        entry,
                        NUMBER_PT,
                        ha="center",
                        color=FAINT if entry == BLANK else self.colour,
                    )


def _cell_w(*matrices: list[list[str]]) -> float:
    longest = max(len(entry) for m in matrices for row in m for entry in row)
    return max(0.42, CHAR_W * longest + 0.16)


def _text_w(s: str) -> float:
    return LABEL_CHAR_W * len(s)


# ---------------------------------------------------------------------------------------------
# Blocks: the header, the given matrices, and one per step.


@dataclass
class Sheet:
    """One problem's worksheet: its trace, the steps to compute, and the names it prints."""

    title: str
    trace: Trace
    steps: list[str]
    answers: bool = False
    seed: int | None = None
    command: str | None = None  # how to print this sheet again

    @property
    def given(self) -> list[str]:
        """Everything the steps use that they do not compute, in the trace's order."""
        used = set()
        for name in self.steps:
            step = self.trace.step(name)
            used |= {n.rstrip("ᵀ") for n in (*step.inputs, *step.product)}
        order = [*self.trace.given, *self.trace.names]
        return [n for n in order if n in used and n not in self.steps]

    def written(self, name: str) -> list[list[str]]:
        """Entries of a trace value (transposed for a trailing ᵀ), as written on a sheet."""
        value = self.trace[name.rstrip("ᵀ")]
        entries = cells(value)
        return [list(col) for col in zip(*entries, strict=True)] if name.endswith("ᵀ") else entries

    def operand(self, name: str, cell_w: float) -> Grid:
        """An operand of a product: printed if given, dashed and to be copied if an answer."""
        entries = self.written(name)
        if name.rstrip("ᵀ") in self.given:
            return Grid(entries, GIVEN, cell_w=cell_w)
        shown = entries if self.answers else [[None] * len(row) for row in entries]
        return Grid(shown, ANSWER, dashed=True, cell_w=cell_w)


def _header(sheet: Sheet, width: float) -> Block:
    title = sheet.title
    again = f"The same sheet again: {sheet.command}" if sheet.command else sheet.trace.title

    def draw(page: Page, x: float, y: float) -> None:
        page.text(x, y + 0.22, title, TITLE_PT, weight="bold")
        if sheet.answers:
            page.text(
                x + width,
                y + 0.22,
                "ANSWER KEY",
                TITLE_PT,
                weight="bold",
                ha="right",
                color="#D55E00",
            )
        page.text(x, y + 0.5, again, LABEL_PT)
        page.text(x, y + 0.9, "Name", LABEL_PT)
        page.line(x + 0.5, y + 0.92, x + 4.2, y + 0.92, linewidth=0.6, color="black")
        page.text(x + 4.5, y + 0.9, "Date", LABEL_PT)
        page.line(x + 4.95, y + 0.92, x + width, y + 0.92, linewidth=0.6, color="black")
        page.text(
            x,
            y + 1.25,
            "Columns are samples. Gradients are true gradients: ∂L/∂thing, with the thing's shape.",
            LABEL_PT,
        )
        page.text(
            x,
            y + 1.45,
            "Dashed grids: copy in your earlier answer. Write 7/3 as 7/3, or to four decimals.",
            LABEL_PT,
        )

    return Block(width, 1.6, draw)


def _labelled(name: str, grid: Grid) -> Block:
    """A grid with its name above it."""
    text = label(name)

    def draw(page: Page, x: float, y: float) -> None:
        page.text(x, y + 0.16, text, LABEL_PT, weight="bold")
        grid.draw(page, x, y + 0.24)

    return Block(max(grid.width, _text_w(text)), grid.height + 0.24, draw)


def _given(sheet: Sheet, width: float) -> list[Block]:
    scalars = [n for n in sheet.given if np.ndim(sheet.trace[n]) == 0]
    blocks = []
    if scalars:
        line = "Given:   " + ",   ".join(
            f"{label(n)} = {cells(sheet.trace[n])[0][0]}" for n in scalars
        )
        blocks.append(Block(width, 0.3, lambda page, x, y: page.text(x, y + 0.18, line, LABEL_PT)))
    else:
        blocks.append(
            Block(width, 0.3, lambda page, x, y: page.text(x, y + 0.18, "Given:", LABEL_PT))
        )
    for name in sheet.given:
        if np.ndim(sheet.trace[name]) > 0:
            entries = sheet.written(name)
            blocks.append(_labelled(name, Grid(entries, cell_w=_cell_w(entries))))
    return blocks


def _result(sheet: Sheet, step: Step, cell_w: float) -> Grid:
    entries = cells(step.output, step.mask)
    if not sheet.answers:
        entries = [[None] * len(row) for row in entries]
    return Grid(entries, ANSWER, cell_w=cell_w)


def _product_body(sheet: Sheet, step: Step) -> Block:
    left_name, top_name, *bias = step.product
    left, top = sheet.written(left_name), sheet.written(top_name)
    result_entries = cells(step.output)
    if bias:  # the bias trick: [W | b] beside the result, [A ; 1] above it
        left = [row + b for row, b in zip(left, sheet.written(bias[0]), strict=True)]
        top = [*top, ["1"] * len(top[0])]
    left_w, right_w = _cell_w(left), _cell_w(top, result_entries)
    left_grid = sheet.operand(left_name, left_w)
    top_grid = sheet.operand(top_name, right_w)
    if bias:
        left_grid.entries = [
            row + b for row, b in zip(left_grid.entries, sheet.written(bias[0]), strict=True)
        ]
        left_grid.split_col = len(left[0]) - 1
        top_grid.entries = [*top_grid.entries, ["1"] * len(top[0])]
        top_grid.split_row = len(top) - 1
    result = _result(sheet, step, right_w)
    left_text = f"[{label(left_name)} | {label(bias[0])}]" if bias else label(left_name)
    top_text = f"[{label(top_name)} ; 1]" if bias else label(top_name)
    result_text = "= " + label(step.name)
    left_width = max(left_grid.width, _text_w(left_text))
    rx = left_width + GAP  # the result's left edge
    ry = top_grid.height + GAP  # the result's top edge
    width = rx + result.width + 0.12 + max(_text_w(top_text), _text_w(result_text))

    def draw(page: Page, x: float, y: float) -> None:
        top_grid.draw(page, x + rx, y)
        page.text(x + rx + top_grid.width + 0.1, y + top_grid.height / 2 + 0.05, top_text)
        left_x = x + left_width - left_grid.width
        page.text(left_x, y + ry - 0.07, left_text)
        left_grid.draw(page, left_x, y + ry)
        result.draw(page, x + rx, y + ry)
        page.text(
            x + rx + result.width + 0.1,
            y + ry + result.height / 2 + 0.05,
            result_text,
            weight="bold",
        )

    return Block(width, ry + result.height, draw)


def _plain_body(sheet: Sheet, step: Step) -> Block:
    text = label(step.name) + " ="
    if np.ndim(step.output) == 0:
        answer = cells(step.output)[0][0] if sheet.answers else None
        grid = Grid([[answer]], ANSWER, cell_w=1.3)
    else:
        grid = _result(sheet, step, _cell_w(cells(step.output)))
    text_w = _text_w(text) + 0.1

    def draw(page: Page, x: float, y: float) -> None:
        page.text(x, y + grid.height / 2 + 0.05, text, weight="bold")
        grid.draw(page, x + text_w, y)

    return Block(text_w + grid.width, grid.height, draw)


def _step(sheet: Sheet, step: Step) -> Block:
    body = _product_body(sheet, step) if step.product else _plain_body(sheet, step)
    title, formula = step.title, step.formula
    if step.mask is not None:
        formula += "   (fill in only these entries now)"
    width = max(body.width, _text_w(title) * 1.1, _text_w(formula))

    def draw(page: Page, x: float, y: float) -> None:
        page.text(x, y + 0.16, title, LABEL_PT, weight="bold")
        page.text(x, y + 0.38, formula, LABEL_PT, color="0.2")
        body.draw(page, x, y + 0.52)

    return Block(width, body.height + 0.52, draw)


# ---------------------------------------------------------------------------------------------
# Pages: blocks on shelves, left to right, then down; a block that does not fit goes on.


def _layout(
    blocks: list[Block], size: tuple[float, float]
) -> list[list[tuple[Block, float, float]]]:
    """Place blocks on pages: [(block, x, y)] per page. Raises if a block cannot fit a page."""
    width, height = size[0] - 2 * MARGIN, size[1] - 2 * MARGIN - 0.3  # room for the footer
    pages: list[list[tuple[Block, float, float]]] = [[]]
    x = y = shelf = 0.0
    for block in blocks:
        if block.width > width + 1e-9 or block.height > height + 1e-9:
            raise ValueError(
                f"a block of {block.width:.2f} x {block.height:.2f} in does not fit "
                f"the page's {width:.2f} x {height:.2f} in"
            )
        if x > 0 and x + block.width > width:  # next shelf
            x, y, shelf = 0.0, y + shelf + 0.25, 0.0
        if y + block.height > height:  # next page
            pages.append([])
            x = y = shelf = 0.0
        pages[-1].append((block, MARGIN + x, MARGIN + y))
        x += block.width + 0.35
        shelf = max(shelf, block.height)
    return pages


def sheets(
    exercise: str, seeds: Sequence[int], answers: bool = False, gradients: bool = False
) -> list[Sheet]:
    """One Sheet per seed."""
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    spec = EXERCISES[exercise]
    out = []
    for seed in seeds:
        trace = spec.trace(seed)
        more = " --gradients" if gradients and exercise == "sae" else ""
        command = f"handcalc-worksheet {exercise} --seed {seed}{more}"
        steps = spec.steps(trace, gradients)
        out.append(Sheet(spec.title, trace, steps, answers, seed, command))
    return out


def sheet_pages(sheet: Sheet, paper: str = "a4") -> list[list[tuple[Block, float, float]]]:
    """The laid-out pages of one sheet (each a list of (block, x, y))."""
    size = PAPERS[paper]
    width = size[0] - 2 * MARGIN
    blocks = [_header(sheet, width), *_given(sheet, width)]
    blocks += [_step(sheet, sheet.trace.step(name)) for name in sheet.steps]
    return _layout(blocks, size)


def worksheet_pdf(
    exercise: str,
    seeds: Sequence[int] = (0,),
    paper: str = "a4",
    answers: bool = False,
    gradients: bool = False,
) -> bytes:
    """The PDF of an exercise's sheet for each seed, each starting on a new page."""
    return render(sheets(exercise, seeds, answers, gradients), paper)


def trace_pdf(
    trace: Trace, steps: Sequence[str] | None = None, paper: str = "a4", answers: bool = False
) -> bytes:
    """The PDF worksheet (or answer key) of any trace: the given steps, or all of them."""
    return render([Sheet(trace.title, trace, list(steps or trace.names), answers)], paper)


def render(sheets: Sequence[Sheet], paper: str = "a4") -> bytes:
    """The PDF of these sheets, each starting on a new page."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of {', '.join(PAPERS)}")
    size = PAPERS[paper]
    buffer = io.BytesIO()
    kinds = {"answer key" if sheet.answers else "worksheet" for sheet in sheets}
    titles = {sheet.title for sheet in sheets}
    metadata = {
        "Title": f"{' / '.join(sorted(titles))}: {' and '.join(sorted(kinds))}",
        "Creator": "handcalc",
        "Producer": "handcalc",
        "CreationDate": None,
    }
    style = {"pdf.fonttype": 42, "font.family": "DejaVu Sans", "pdf.compression": 6}
    with matplotlib.rc_context(style), PdfPages(buffer, metadata=metadata) as pdf:
        for sheet in sheets:
            pages = sheet_pages(sheet, paper)
            kind = "answer key" if sheet.answers else "worksheet"
            seed = "" if sheet.seed is None else f" · seed {sheet.seed}"
            for number, placed in enumerate(pages, 1):
                figure = Figure(figsize=size)
                page = Page(figure, size)
                for block, x, y in placed:
                    block.draw(page, x, y)
                footer = f"{sheet.title} · {kind}{seed} · page {number} of {len(pages)}"
                page.text(
                    size[0] / 2,
                    size[1] - MARGIN / 2,
                    footer,
                    SMALLEST_PT,
                    ha="center",
                    color="0.35",
                )
                pdf.savefig(figure)
    return buffer.getvalue()


def write_worksheet(
    exercise: str,
    seed: int = 0,
    count: int = 1,
    paper: str = "a4",
    answers: bool = False,
    gradients: bool = False,
    out: str | Path | None = None,
) -> Path:
    """Write sheets for seeds seed .. seed + count - 1 to `out` (default: worksheets/<name>.pdf)
    and return the path."""
    if out is None:
        parts = [exercise, f"seed{seed}"]
        parts += [f"x{count}"] * (count > 1) + ["gradients"] * gradients + ["answers"] * answers
        out = Path("worksheets") / ("-".join(parts) + ".pdf")
    out = Path(out)
    data = worksheet_pdf(exercise, range(seed, seed + count), paper, answers, gradients)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


# ---------------------------------------------------------------------------------------------
# The command line.


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, no usage dump
        self.exit(2, f"handcalc-worksheet: {message} (see --help)\n")


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number, at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more; got {value}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="handcalc-worksheet",
        description="Print by-hand worksheets (or their answer keys) as a PDF. Each sheet is a "
        "problem drawn from a seed: the same seed gives the same problem anywhere, so answer "
        "keys can be printed later from the seeds alone.",
        epilog="Examples: handcalc-worksheet linear (the worked example, A4);  "
        "handcalc-worksheet sae --seed 7 --count 30 --paper letter --out class.pdf, then "
        "the same with --answers --out keys.pdf for the matching answer keys.",
    )
    parser.add_argument(
        "exercise",
        choices=list(EXERCISES),
        metavar="exercise",
        help="which sheet: "
        + "; ".join(f"{k} ({v.title[0].lower() + v.title[1:]})" for k, v in EXERCISES.items()),
    )
    parser.add_argument(
        "--seed",
        type=_whole_number(0),
        default=0,
        help="the first problem's seed; 0 (the default) is the worked example",
    )
    parser.add_argument(
        "--count",
        type=_whole_number(1),
        default=1,
        help="how many sheets, one per seed: seed, seed+1, ... (default 1)",
    )
    parser.add_argument(
        "--paper",
        choices=list(PAPERS),
        default="a4",
        metavar="paper",
        help="a4 (the default) or letter",
    )
    parser.add_argument(
        "--answers",
        action="store_true",
        help="print the answer key: the same pages, every grid filled in",
    )
    parser.add_argument(
        "--gradients",
        action="store_true",
        help="sae only: add the parameter gradients and the update after the ten steps",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the PDF to write (default: worksheets/<exercise>-seed<seed>[...].pdf)",
    )
    args = parser.parse_args(argv)
    if args.gradients and args.exercise != "sae":
        parser.error("--gradients is for the sae exercise only")
    out = args.out
    try:
        path = write_worksheet(
            args.exercise, args.seed, args.count, args.paper, args.answers, args.gradients, out
        )
    except OSError as error:
        parser.error(f"cannot write {out or 'the PDF'}: {error.strerror or error}")
    print(f"wrote {path} ({args.count} sheet{'s' if args.count > 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
