"""How a worksheet is laid out on paper: each step's result where the next step reads it.

A matrix product is drawn as it is done by hand: the left operand beside the result (its rows
line up with the result's rows), the top operand above it (its columns line up), and a bias as
one more column of the left operand over a row of 1s under the top one (the bias trick). A step
is placed, in order of preference:

- *below* the grid it reads when that grid is its product's top operand or the input of an
  entrywise step (F = ReLU(Z) under Z, then X' = W_dec F + b_dec under F: F serves as the
  decoder's input as it stands, nothing is copied);
- *beside* it, to the right, when it is the product's left operand (dW = dZ Xᵀ to the right of
  dZ) or the input of an entrywise step that has no room below;
- else wherever the page has room, with its operands printed there (a given matrix) or dashed,
  to be copied in (an earlier answer where the page has no room under or beside it).

Of several places under or beside, a step takes one after which the next step can also meet
what it reads, if there is one.

Given matrices no product prints are printed where there is room once the page's steps are
placed (so they never take a step's place); if they do not fit, the page's last steps move to
the next page. Positions are in inches from the top-left corner of the area under the header.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .display import BLANK, cells, label
from .traces import Step, Trace

NUMBER_PT, LABEL_PT, TITLE_PT, SMALLEST_PT = 10, 9, 13, 8
CELL_H = 0.25  # inches: 6.35 mm, room for a handwritten number
CHAR_W = 0.09  # a digit at 10 pt (DejaVu Sans) is at most this wide
NARROW = {".": 0.05, "-": 0.06, "/": 0.05}  # and these at most this
LABEL_W = 1.5  # a step's label may be as wide as its grid, or this
GAP = 0.14  # between a product's left operand and its result
LABEL_GAP = 0.27  # above a result: the line with its step number and formula
BASELINE = 0.08  # that line's baseline, above the result's top edge
BESIDE = 0.3  # between an entrywise result and the grid it is computed from, side by side
PAD = 0.08  # the least room between two things on the page (2 mm)
LOOK = 1  # how many steps ahead a step's place is chosen for (see _place)
ANSWER, GIVEN, FAINT = "#0072B2", "black", "0.55"

Rect = tuple[float, float, float, float]  # x, y, width, height


class Page:
    """A matplotlib figure, drawn on in inches from the top-left corner (offset: where the
    content area starts)."""

    def __init__(self, figure, size: tuple[float, float], offset=(0.0, 0.0)) -> None:
        self.figure, (self.width, self.height) = figure, size
        self.dx, self.dy = offset

    def text(self, x: float, y: float, s: str, size: float = LABEL_PT, **kw) -> None:
        kw.setdefault("va", "baseline")
        x, y = x + self.dx, y + self.dy
        self.figure.text(x / self.width, 1 - y / self.height, s, fontsize=size, **kw)

    def box(self, x: float, y: float, w: float, h: float, **kw) -> None:
        from matplotlib.patches import Rectangle

        x, y = x + self.dx, y + self.dy
        kw.setdefault("linewidth", 0.5)
        kw.setdefault("edgecolor", "0.45")
        kw.setdefault("facecolor", "none")
        corner = (x / self.width, 1 - (y + h) / self.height)
        size = (w / self.width, h / self.height)
        self.figure.add_artist(Rectangle(corner, *size, transform=self.figure.transFigure, **kw))

    def line(self, x0: float, y0: float, x1: float, y1: float, **kw) -> None:
        from matplotlib.lines import Line2D

        x0, x1, y0, y1 = x0 + self.dx, x1 + self.dx, y0 + self.dy, y1 + self.dy
        xs, ys = [x0 / self.width, x1 / self.width], [1 - y0 / self.height, 1 - y1 / self.height]
        self.figure.add_artist(Line2D(xs, ys, transform=self.figure.transFigure, **kw))


@dataclass
class Grid:
    """A matrix to draw: entries (None for an empty box), their colour, and the box width."""

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


def cell_width(*matrices: list[list[str]], narrow: bool = False) -> float:
    """A box wide enough for the longest entry of these matrices (at least 0.36 in: 9 mm);
    narrow: as wide as the entry's characters need (a point or a minus sign is narrower than a
    digit), else every character as wide as a digit."""
    widest = max(entry_width(entry, narrow) for m in matrices for row in m for entry in row)
    return max(0.36, widest + 0.14)


def entry_width(entry: str, narrow: bool = False) -> float:
    """How wide a number is printed at 10 pt, in inches (at most)."""
    return sum(NARROW.get(char, CHAR_W) if narrow else CHAR_W for char in entry)


@functools.cache
def text_width(s: str, bold: bool = False) -> float:
    """How wide a line of 9 pt text is printed (DejaVu Sans, the font the PDF embeds), in
    inches, with 0.02 in to spare."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(family="DejaVu Sans", size=LABEL_PT, weight="bold" if bold else "normal")
    return TextToPath().get_text_width_height_descent(s, font, ismath=False)[0] / 72 + 0.02


def wrap(line: str, width: float) -> list[str]:
    """A line of 9 pt text broken at spaces into lines no wider than `width` inches (a word wider
    than that stays whole), the lines after the first indented."""
    lines, words = [], line.split(" ")
    current = words[0]
    for word in words[1:]:
        if text_width(f"{current} {word}") <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = f"     {word}"
    return [*lines, current]


@dataclass
class Sheet:
    """One problem's worksheet: its trace, the steps to compute, and the names it prints."""

    title: str
    trace: Trace
    steps: list[str]
    answers: bool = False
    seed: int | None = None
    command: str | None = None  # how to print this sheet again
    narrow: bool = False  # boxes as narrow as their numbers allow (see cell_width)

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
        """A grid of a value: printed if given, dashed and to be copied in if an answer."""
        entries = self.written(name)
        if name.rstrip("ᵀ") in self.given:
            return Grid(entries, GIVEN, cell_w=cell_w)
        shown = entries if self.answers else [[None] * len(row) for row in entries]
        return Grid(shown, ANSWER, dashed=True, cell_w=cell_w)

    def completion(self, name: str) -> Step | None:
        """The step that fills in the rest of step `name`'s grid (the sheet fills some grids
        in two goes: ∂|f|/∂f is 1 where f > 0, then 0 elsewhere), or None."""
        if name not in self.steps or self.trace.step(name).mask is None:
            return None
        later = [self.trace.step(n) for n in self.steps[self.steps.index(name) + 1 :]]
        return next((s for s in later if s.inputs == (name,)), None)

    def result(self, step: Step, cell_w: float) -> Grid:
        done = self.completion(step.name)
        entries = cells(step.output, step.mask) if done is None else cells(done.output)
        if not self.answers:
            entries = [[None] * len(row) for row in entries]
        return Grid(entries, ANSWER, cell_w=cell_w)

    def number(self, name: str) -> int:
        return self.steps.index(name) + 1

    def box_width(self, name: str, *also: list[list[str]]) -> float:
        """The box width for the grid of `name` (and these entries): one width for every grid
        whose columns are samples (or tokens), so that a grid's columns line up with those of
        the grid above it (Z's with X's, F's with Z's); else wide enough for its own."""
        own = cell_width(cells(self.trace[name.rstrip("ᵀ")]), *also, narrow=self.narrow)
        if name.endswith("ᵀ") or not self._by_sample(name):
            return own
        return max(own, self._sample_width)

    def _by_sample(self, name: str) -> bool:
        return self.trace.axes(name)[-1:] in (("sample",), ("token",))

    @cached_property
    def _sample_width(self) -> float:
        """The widest box any grid with a column per sample (or token) needs."""
        names = [n for n in [*self.given, *self.steps] if self._by_sample(n)]
        return cell_width(*(cells(self.trace[n]) for n in names), narrow=self.narrow)


# ---------------------------------------------------------------------------------------------
# A piece: what one step puts on the page, relative to its result's top-left corner.


@dataclass
class Part:
    x: float
    y: float
    width: float
    height: float
    draw: Callable[[Page, float, float], None]
    grid: str | None = None  # the name of the value this grid shows (for later steps)
    keep: bool = True  # False: room the piece needs now, not drawn or kept
    answers: int = 0  # how many answers this grid prints (in an answer key)
    copy: bool = False  # a dashed grid: an earlier answer to copy in
    shape: tuple[int, int] = (0, 0)  # its rows and columns


def _grid_part(x: float, y: float, grid: Grid, name: str | None = None) -> Part:
    answers = sum(e is not None for row in grid.entries for e in row) * (grid.colour == ANSWER)
    return Part(x, y, grid.width, grid.height, grid.draw, name, answers=answers, copy=grid.dashed,
                shape=grid.shape)  # fmt: skip


LINE = 0.17  # from one line of 9 pt text to the next


def _text_part(x: float, y: float, s: str, right: bool = False, bold: bool = False) -> Part:
    """Text whose (first) baseline is at y, starting at x (ending at x, right=True); a "\n"
    starts another line."""
    lines = s.split("\n")
    w = max(text_width(line, bold) for line in lines)
    weight = "bold" if bold else "normal"

    def draw(page: Page, px: float, py: float) -> None:
        for k, line in enumerate(lines):
            page.text(px + (w if right else 0), py + 0.17 + k * LINE, line,
                      ha="right" if right else "left", weight=weight)  # fmt: skip

    return Part(x - w if right else x, y - 0.17, w, 0.21 + LINE * (len(lines) - 1), draw)


def _step_label(sheet: Sheet, step: Step) -> list[str]:
    """The step's number and formula; and the next step's, if it fills in the same grid."""
    done = sheet.completion(step.name)
    then = [] if done is None else [f"{sheet.number(done.name)}.  {done.formula}, the rest"]
    return [f"{sheet.number(step.name)}.  {step.formula}", *then]


def _result_parts(sheet: Sheet, step: Step, cell_w: float) -> tuple[list[Part], float]:
    """The result's grid at (0, 0) and its step label above it, in lines no wider than the
    grid (or 1.8 in); and the room the label takes above the grid."""
    result = sheet.result(step, cell_w)
    if np.ndim(step.output) == 0:  # a number: one wide box
        result = Grid(result.entries, ANSWER, cell_w=1.3)
    width = max(result.width, LABEL_W)
    lines = [wrapped for line in _step_label(sheet, step) for wrapped in wrap(line, width)]
    gap = LABEL_GAP + LINE * (len(lines) - 1)
    text = _text_part(0, -BASELINE - LINE * (len(lines) - 1), "\n".join(lines))
    return [text, _grid_part(0, 0, result, step.name)], gap


def _product(
    sheet: Sheet, step: Step, top_on_page: bool, left_on_page: bool
) -> tuple[list[Part], float]:
    """A product's parts: result at (0, 0); the left operand beside it and the top one above,
    each left out when it is already on the page where the result meets it; and the room the
    result's label takes above it."""
    left_name, top_name, *bias = step.product
    left, top = sheet.written(left_name), sheet.written(top_name)
    if bias:
        left = [row + b for row, b in zip(left, sheet.written(bias[0]), strict=True)]
    right_w = sheet.box_width(step.name, top)
    parts, gap = _result_parts(sheet, step, right_w)
    if not left_on_page:
        grid = sheet.operand(left_name, cell_width(left, narrow=sheet.narrow))
        if bias:
            grid.entries = [
                row + b for row, b in zip(grid.entries, sheet.written(bias[0]), strict=True)
            ]
            grid.split_col = len(left[0]) - 1
        name = f"[{label(left_name)} | {label(bias[0])}]" if bias else label(left_name)
        parts.append(_grid_part(-GAP - grid.width, 0, grid, left_name))
        parts.append(_text_part(-GAP, -BASELINE, name, right=True, bold=True))
    ones = Grid([["1"] * len(top[0])], cell_w=right_w)
    if top_on_page:
        if bias:  # a row of 1s under the top operand: [A ; 1]
            parts.append(_grid_part(0, -gap - CELL_H, ones))
    else:
        grid = sheet.operand(top_name, right_w)
        above = -gap - grid.height - (CELL_H if bias else 0)
        parts.append(_grid_part(0, above, grid, top_name))
        if bias:
            parts.append(_grid_part(0, -gap - CELL_H, ones))
        name = f"[{label(top_name)} ; 1]" if bias else label(top_name)
        middle = above + (grid.height + (CELL_H if bias else 0)) / 2 + 0.06
        parts.append(_text_part(grid.width + 0.1, middle, name, bold=True))
    return parts, gap


def _given_parts(sheet: Sheet, name: str) -> list[Part]:
    """A given matrix with its name above it, the name's line at y = -LABEL_GAP."""
    entries = sheet.written(name)
    grid = Grid(entries, cell_w=sheet.box_width(name))
    return [
        _text_part(0, -BASELINE, f"{label(name)} (given)", bold=True),
        _grid_part(0, 0, grid, name),
    ]


# ---------------------------------------------------------------------------------------------
# Pages: pieces placed where they meet what they read, else where there is room.


@dataclass
class PagePlan:
    """What one page holds: parts at absolute positions, and where each value's grid is."""

    width: float
    height: float
    parts: list[tuple[Part, float, float]] = field(default_factory=list)
    grids: dict[str, Rect] = field(default_factory=dict)
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)  # rows, columns of each grid
    boxes: list[Rect] = field(default_factory=list)  # where each part is, as rects() gives

    def saved(self) -> tuple:
        """The page as it is now, for restore()."""
        return len(self.parts), dict(self.grids), dict(self.shapes)

    def restore(self, saved: tuple) -> None:
        count, grids, shapes = saved
        del self.parts[count:], self.boxes[count:]
        self.grids, self.shapes = dict(grids), dict(shapes)

    def rects(self) -> list[Rect]:
        """Where each part on the page is: (x, y, width, height)."""
        return self.boxes

    def fits(self, parts: list[Part], x: float, y: float, skip: Rect | None = None) -> bool:
        """Do these parts, with their (0, 0) at (x, y), stay on the page and clear of what
        is on it (skip: the grid they attach to, which they may touch)?"""
        placed = self.boxes if skip is None else [r for r in self.boxes if r != skip]
        for part in parts:
            px, py = x + part.x, y + part.y
            if px < -1e-9 or py < -1e-9:
                return False
            if px + part.width > self.width + 1e-9 or py + part.height > self.height + 1e-9:
                return False
            for rx, ry, rw, rh in placed:
                if (px < rx + rw + PAD and rx < px + part.width + PAD
                        and py < ry + rh + PAD and ry < py + part.height + PAD):  # fmt: skip
                    return False
        return True

    def put(self, parts: list[Part], x: float, y: float) -> None:
        for part in (p for p in parts if p.keep):
            self.parts.append((part, x, y))
            self.boxes.append((x + part.x, y + part.y, part.width, part.height))
            if part.grid is not None and part.grid not in self.grids:
                self.grids[part.grid] = self.boxes[-1]
                self.shapes[part.grid] = part.shape

    def room(self, parts: list[Part]) -> tuple[float, float] | None:
        """The first place, top to bottom then left to right, where the parts fit."""
        left = min(p.x for p in parts)
        top = min(p.y for p in parts)
        rects = self.boxes
        xs = sorted({0.0, *(rx + rw + PAD for rx, _, rw, _ in rects)})
        ys = sorted({0.0, *(ry + rh + PAD for _, ry, _, rh in rects)})
        for y in ys:
            for x in xs:
                if self.fits(parts, x - left, y - top):
                    return x - left, y - top
        return None


def _attached(
    sheet: Sheet, step: Step, plan: PagePlan
) -> Iterator[tuple[list[Part], float, float, Rect]]:
    """The ways this step can meet a grid already on the page: (parts, x, y, that grid)."""
    if step.product:
        left_name, top_name, *_ = step.product
        if top_name in plan.grids:  # below the top operand
            tx, ty, _, th = rect = plan.grids[top_name]
            parts, gap = _product(sheet, step, top_on_page=True, left_on_page=False)
            extra = CELL_H if len(step.product) > 2 else 0
            yield parts, tx, ty + th + extra + gap, rect
        if left_name in plan.grids and len(step.product) == 2:  # beside the left operand
            lx, ly, lw, _ = rect = plan.grids[left_name]
            parts, _ = _product(sheet, step, top_on_page=False, left_on_page=True)
            yield parts, lx + lw + GAP, ly, rect
        return
    entries = cells(step.output)
    shape = (len(entries), len(entries[0]))
    for source in step.inputs:  # an entrywise step: below or beside its input, if of its shape
        if source in plan.grids and plan.shapes[source] == shape and np.ndim(step.output):
            sx, sy, sw, sh = rect = plan.grids[source]
            if sheet.completion(source) is step:  # filled in, in the same grid
                plan.grids[step.name], plan.shapes[step.name] = rect, shape
                yield [], sx, sy, rect
                return
            parts, gap = _result_parts(sheet, step, sheet.box_width(step.name))
            width = max(p.x + p.width for p in parts)
            yield parts, sx, sy + sh + gap, rect
            yield parts, sx + sw + BESIDE, sy, rect
            yield parts, sx - BESIDE - width, sy, rect


def _fresh(sheet: Sheet, step: Step, reserve: float) -> list[Part]:
    """The step's parts where nothing it reads is on the page; a product keeps `reserve`
    inches free to its left, for the widest left operand of the steps that may follow below."""
    if not step.product:
        return _result_parts(sheet, step, sheet.box_width(step.name))[0]
    parts, _ = _product(sheet, step, top_on_page=False, left_on_page=False)
    return [*parts, Part(-reserve, 0, reserve, 0.01, lambda *_: None, keep=False)]


def _reserve(sheet: Sheet) -> float:
    """The widest left operand of the sheet's products (with its bias column), plus GAP."""
    widths = [0.0]
    for name in sheet.steps:
        step = sheet.trace.step(name)
        if step.product:
            left = sheet.written(step.product[0])
            columns = len(left[0]) + (len(step.product) > 2)
            widths.append(columns * cell_width(left, narrow=sheet.narrow) + GAP)
    return max(widths)


def lay_out(
    sheet: Sheet, size: tuple[float, float], later: tuple[float, float] | None = None
) -> list[PagePlan]:
    """The sheet's steps placed on pages with this content area (width, height in inches;
    later: the pages after the first, if their area differs). A page takes steps in order while
    they fit; then the given matrices its steps read that no product prints (Z for ReLU's
    backward step) are printed where there is room, after the steps, so that they never take
    the room a step needs under or beside the grid it reads. If they do not fit, the page's last
    steps move on to the next page."""
    plans, reserve, todo = [], _reserve(sheet), list(sheet.steps)
    while todo:
        plan = PagePlan(*(later or size) if plans else size)
        placed: list[tuple[str, tuple]] = []  # (step, the page as it was before it)
        while todo:
            before = plan.saved()
            if _place(sheet, todo, plan, reserve) is None:
                break
            placed.append((todo.pop(0), before))
        while placed and not _print_given(sheet, plan, [name for name, _ in placed]):
            name, before = placed.pop()
            plan.restore(before)
            todo.insert(0, name)
        if not placed:
            raise ValueError(f"step {todo[0]} does not fit an empty page of {plan.width:.2f} x "
                             f"{plan.height:.2f} in")  # fmt: skip
        plans.append(plan)
    return plans


def _place(
    sheet: Sheet, steps: list[str], plan: PagePlan, reserve: float, look: int = LOOK
) -> int | None:
    """Put the first of these steps on the page: under or beside a grid it reads if it can (of
    several such places, the one after which most of the next `look` steps can also meet what
    they read), else where there is room. How many of the steps it and the next `look` met
    their grid (1 for this one); None if it found no room."""
    before = plan.saved()
    step = sheet.trace.step(steps[0])
    options = [(p, x, y) for p, x, y, rect in _attached(sheet, step, plan)
               if plan.fits(p, x, y, skip=rect)]  # fmt: skip
    best, score, named = None, -1, plan.saved()  # named: an attached step may name its grid
    for parts, x, y in options:
        plan.put(parts, x, y)
        met = 1 + (_ahead(sheet, steps[1 : 1 + look], plan, reserve) if len(options) > 1 else 0)
        plan.restore(named)
        if met > score:
            best, score = (parts, x, y), met
    if best is not None:
        plan.put(*best)
        return score
    plan.restore(before)
    parts = _fresh(sheet, step, reserve)
    spot = plan.room(parts)
    if spot is None:
        return None
    plan.put(parts, *spot)
    return 0


def _ahead(sheet: Sheet, steps: list[str], plan: PagePlan, reserve: float) -> int:
    """How many of these steps, placed one by one as _place does without looking ahead, meet a
    grid they read (the page is left as it was)."""
    saved, met = plan.saved(), 0
    for k in range(len(steps)):
        placed = _place(sheet, steps[k:], plan, reserve, look=0)
        if placed is None:
            break
        met += placed
    plan.restore(saved)
    return met


def _print_given(sheet: Sheet, plan: PagePlan, names: list[str]) -> bool:
    """Print the given matrices these steps read that are not on the page yet; False if one
    does not fit (those printed stay: the caller restores the page)."""
    for name in names:
        step = sheet.trace.step(name)
        printed = {n.rstrip("ᵀ") for n in step.product}
        for source in step.inputs:
            if source not in sheet.given or source in printed or source in plan.grids:
                continue
            if np.ndim(sheet.trace[source]) == 0:
                continue
            parts = _given_parts(sheet, source)
            spot = plan.room(parts)
            if spot is None:
                return False
            plan.put(parts, *spot)
    return True
