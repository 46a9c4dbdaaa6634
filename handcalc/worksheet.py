"""Printable worksheets and answer keys, drawn from a trace.

    python -m handcalc.worksheet sae --seed 7 --count 30 --paper letter --answers --out sheets.pdf

A sheet has a header (title, name and date, the conventions), a footer (seed, page, the command
that prints it again) and every step to compute, numbered, with its formula and an empty grid of
exactly the result's shape, laid out by `layout` so that each result sits where the next step
reads it. The answer key is the same pages with every grid filled in, answers in blue.

Text is real text in an embedded TrueType font (DejaVu Sans): numbers 10 pt, labels 9 pt, and
nothing smaller than 8 pt. Paper: A4 or US Letter, portrait or (where that takes fewer pages)
landscape. The same arguments give the same bytes. A seed gives the same problem on any machine,
so a class set's answer keys can be printed later from the seeds alone.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .display import cells, label
from .layout import LABEL_PT, SMALLEST_PT, TITLE_PT, Page, PagePlan, Sheet, lay_out
from .seeds import autoencoder_problem, sae_problem
from .traces import Trace, autoencoder_trace, sae_trace
from .worksheet_html import worksheet_html

PAPERS = {"a4": (210 / 25.4, 297 / 25.4), "letter": (8.5, 11.0)}  # inches, portrait
MARGIN = 0.4  # 10 mm: inside what any printer prints
HEADER = 1.0  # the first page's header; later pages have one line
FOOTER = 0.3


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
    "backward": Exercise(  # the forward pass first: its results are where the backward reads them
        "One training step of the autoencoder", _autoencoder, lambda t, _: list(t.names)
    ),
    "sae": Exercise(
        "A sparse autoencoder by hand",
        _sae,
        lambda t, gradients: t.names if gradients else _until(t, "dX_hat"),
    ),
}

# ---------------------------------------------------------------------------------------------
# Pages: the header, the laid-out steps, the footer.


def _header(sheet: Sheet, page: Page, width: float, first: bool) -> None:
    """Title, name and date, how to print the sheet again, the conventions (page 1); a line
    on the pages after it. Drawn above the content area (negative y)."""
    top = -HEADER if first else -0.45
    page.text(0, top + 0.2, sheet.title if first else f"{sheet.title} (continued)", TITLE_PT,
              weight="bold")  # fmt: skip
    if sheet.answers:
        page.text(width, top + 0.2, "ANSWER KEY", TITLE_PT, weight="bold", ha="right",
                  color="#D55E00")  # fmt: skip
    if not first:
        return
    page.text(0, top + 0.5, "Name", LABEL_PT)
    page.line(0.5, top + 0.52, 0.5 + width * 0.55, top + 0.52, linewidth=0.6, color="black")
    page.text(0.65 + width * 0.55, top + 0.5, "Date", LABEL_PT)
    page.line(1.1 + width * 0.55, top + 0.52, width, top + 0.52, linewidth=0.6, color="black")
    scalars = [n for n in sheet.given if np.ndim(sheet.trace[n]) == 0]
    given = (
        "   Given: " + ",  ".join(f"{label(n)} = {cells(sheet.trace[n])[0][0]}" for n in scalars)
        if scalars
        else ""
    )
    page.text(0, top + 0.74, "Columns are samples; a gradient ∂L/∂A has A's shape. Write 7/3 as "
              "7/3, or to four decimals.", LABEL_PT)  # fmt: skip
    copy = "Dashed grid: copy your earlier answer in (Aᵀ: A's rows as columns)."
    page.text(0, top + 0.91, copy + given, LABEL_PT)


def orientation(sheet: Sheet, paper: str) -> tuple[tuple[float, float], list[PagePlan]]:
    """The page size and the sheet's pages laid out on it: portrait or landscape, boxes as wide
    as a digit per character or as narrow as the numbers allow (the layout places step by step,
    so either can come out shorter), whichever takes the fewest pages; then portrait (a column of
    steps reads top to bottom), then the fewest copies; wide boxes on a tie."""
    best, rank = None, None
    portrait = PAPERS[paper]
    for landscape, size in enumerate((portrait, portrait[::-1])):
        for narrow in (False, True):
            try:
                plans = sheet_pages(replace(sheet, narrow=narrow), size)
            except ValueError:
                continue
            copies = sum(part.copy for plan in plans for part, _, _ in plan.parts)
            if rank is None or (len(plans), landscape, copies) < rank:
                best, rank = (size, plans), (len(plans), landscape, copies)
    if best is None:
        raise ValueError(f"the sheet does not fit {paper} paper either way round")
    return best


def sheet_pages(sheet: Sheet, size: tuple[float, float]) -> list[PagePlan]:
    """The sheet laid out on pages of this size (inches): page 1 under the full header, the
    rest under a one-line header."""
    width = size[0] - 2 * MARGIN
    first = (width, size[1] - 2 * MARGIN - HEADER - FOOTER)
    return lay_out(sheet, first, later=(width, size[1] - 2 * MARGIN - 0.45 - FOOTER))


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
            size, plans = orientation(sheet, paper)
            kind = "answer key" if sheet.answers else "worksheet"
            seed = "" if sheet.seed is None else f" · seed {sheet.seed}"
            for number, plan in enumerate(plans, 1):
                figure = Figure(figsize=size)
                top = MARGIN + (HEADER if number == 1 else 0.45)
                page = Page(figure, size, (MARGIN, top))
                _header(sheet, page, size[0] - 2 * MARGIN, number == 1)
                for part, x, y in plan.parts:
                    part.draw(page, x + part.x, y + part.y)
                again = f" · the same sheet again: {sheet.command}" if sheet.command else ""
                footer = f"{kind}{seed} · page {number} of {len(plans)}{again}"
                page.text(size[0] / 2 - MARGIN, size[1] - top - MARGIN - 0.08, footer,
                          SMALLEST_PT, ha="center", color="0.35")  # fmt: skip
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
    as_html: bool = False,
) -> Path:
    """Write sheets for seeds seed .. seed + count - 1 to `out` (default:
    worksheets/<name>.pdf, or .html with as_html: an accessible web page) and return the
    path."""
    if out is None:
        parts = [exercise, f"seed{seed}"]
        parts += [f"x{count}"] * (count > 1) + ["gradients"] * gradients + ["answers"] * answers
        out = Path("worksheets") / ("-".join(parts) + (".html" if as_html else ".pdf"))
    out = Path(out)
    seeds = range(seed, seed + count)
    if as_html:
        data = worksheet_html(sheets(exercise, seeds, answers, gradients)).encode()
    else:
        data = worksheet_pdf(exercise, seeds, paper, answers, gradients)
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
        "--html",
        action="store_true",
        help="write an accessible web page instead of a PDF: each matrix a table with row and "
        "column headers, each answer box a labelled text box (for a screen reader, a "
        "magnifier or typing)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the file to write (default: worksheets/<exercise>-seed<seed>[...].pdf or .html)",
    )
    args = parser.parse_args(argv)
    if args.gradients and args.exercise != "sae":
        parser.error("--gradients is for the sae exercise only")
    out = args.out
    try:
        path = write_worksheet(args.exercise, args.seed, args.count, args.paper, args.answers,
                               args.gradients, out, args.html)  # fmt: skip
    except OSError as error:
        parser.error(f"cannot write {out or 'the sheet'}: {error.strerror or error}")
    print(f"wrote {path} ({args.count} sheet{'s' if args.count > 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
