"""A worksheet (or its answer key) as one accessible HTML page, from the same Sheet as the PDF.

For a learner who reads with a screen reader or a magnifier, or who types rather than writes:
the same steps, numbers and formulas as the printed sheet, each matrix a table whose rows and
columns have headers ("unit 2", "sample 3"), each answer grid a table of text boxes, each box
labelled with the step, its row and its column. The key has the answers in those cells instead.
Nothing is checked here (the notebooks check); the page works offline and prints.

    handcalc-worksheet sae --html --out sae.html
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from .display import BLANK, cells, label
from .layout import Sheet
from .traces import Step

_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 60em; margin: 1.5em auto;
       padding: 0 1em; line-height: 1.5; color: #111; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.4em 1.5em 0.8em 0; display: inline-table;
        vertical-align: top; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.2em; }
th { font-weight: normal; color: #333; font-size: 0.85em; padding: 0.1em 0.4em; }
td { border: 1px solid #555; min-width: 3.2em; height: 1.9em; text-align: center;
     padding: 0 0.2em; }
td.answer { color: #00507a; font-weight: bold; }
input { width: 4em; font: inherit; text-align: center; border: 0; padding: 0.2em; }
input:focus-visible { outline: 3px solid #111; outline-offset: 1px; }
td.corner { border: 0; }
.later { color: #555; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0 0 0 0); white-space: nowrap; }
"""


def worksheet_html(sheets: Sequence[Sheet]) -> str:
    """These sheets as one complete HTML document (lang="en"), one <article> each: its header,
    the given values, then each step with what it reads and its answer table."""
    kinds = sorted({"answer key" if sheet.answers else "worksheet" for sheet in sheets})
    title = f"{' / '.join(sorted({s.title for s in sheets}))}: {' and '.join(kinds)}"
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<main>\n{''.join(map(_article, sheets))}</main>\n</body>\n</html>\n"
    )


def _article(sheet: Sheet) -> str:
    kind = "answer key" if sheet.answers else "worksheet"
    seed = "" if sheet.seed is None else f", seed {sheet.seed}"
    title = f"{sheet.title}: {kind}{seed}"
    again = (
        f"<p>The same sheet again: <code>{html.escape(f'{sheet.command} --html')}</code></p>\n"
        * bool(sheet.command)
    )
    given = "".join(_given(sheet, name) for name in sheet.given)
    steps = "".join(_step(sheet, name) for name in sheet.steps)
    return (
        f"<article>\n<h1>{html.escape(title)}</h1>\n{again}"
        "<p>Columns are samples; a gradient ∂L/∂A has A's shape. Write 7/3 as 7/3, or to four "
        "decimals. Each answer box is named by its step, row and column.</p>\n"
        f"<h2>Given</h2>\n{given}\n{steps}</article>\n"
    )


def _given(sheet: Sheet, name: str) -> str:
    value = sheet.trace[name]
    if np.ndim(value) == 0:
        return f"<p>{html.escape(label(name))} = {cells(value)[0][0]}</p>\n"
    return _table(sheet, name, label(name), cells(value))


def _step(sheet: Sheet, name: str) -> str:
    step = sheet.trace.step(name)
    number = sheet.number(name)
    reads = ", ".join(_source(sheet, n) for n in step.inputs)
    heading = f"Step {number}. {step.formula}"
    values = cells(step.output, step.mask)
    later = step.mask is not None
    answers = values if sheet.answers else [[None if v != BLANK else v for v in row]
                                            for row in values]  # fmt: skip
    caption = f"Step {number}: {label(name)}"
    return (
        f"<section>\n<h2>{html.escape(heading)}</h2>\n<p>Uses: {html.escape(reads)}.</p>\n"
        + _table(sheet, name, caption, answers, step=step, later=later)
        + "</section>\n"
    )


def _source(sheet: Sheet, name: str) -> str:
    if name in sheet.steps:
        return f"{label(name)} (step {sheet.number(name)})"
    return f"{label(name)} (given)"


def _table(
    sheet: Sheet,
    name: str,
    caption: str,
    entries: list[list[str | None]],
    step: Step | None = None,
    later: bool = False,
) -> str:
    """A matrix as a table with row and column headers; None entries are labelled text boxes
    (an answer to write), BLANK entries are left for a later step."""
    axes = sheet.trace.axes(name)
    rows, columns = len(entries), len(entries[0])
    row_names = [f"{axes[0]} {i + 1}" if axes else "" for i in range(rows)]
    column_names = [f"{axes[1]} {j + 1}" if len(axes) > 1 else "" for j in range(columns)]
    head = ""
    if any(column_names):
        head = "<tr><td class='corner'></td>" + "".join(
            f"<th scope='col'>{c}</th>" for c in column_names
        ) + "</tr>\n"  # fmt: skip
    body = []
    for i, row in enumerate(entries):
        cells_html = []
        for j, entry in enumerate(row):
            where = ", ".join(n for n in (row_names[i], column_names[j]) if n)
            box = ", ".join(n for n in (label(name), where) if n)
            box += f" (step {sheet.number(name)})" if step is not None else ""
            if entry is None:
                cells_html.append(f"<td><input type='text' aria-label='{html.escape(box)}'></td>")
            elif entry == BLANK and later:
                cells_html.append(
                    "<td class='later'>·<span class='visually-hidden'> (a later step)</span></td>"
                )
            else:
                kind = " class='answer'" if step is not None else ""
                cells_html.append(f"<td{kind}>{html.escape(entry)}</td>")
        header = f"<th scope='row'>{row_names[i]}</th>" if row_names[i] else ""
        body.append(f"<tr>{header}{''.join(cells_html)}</tr>")
    return (
        f"<table>\n<caption>{html.escape(caption)}</caption>\n{head}"
        + "\n".join(body)
        + "\n</table>\n"
    )
