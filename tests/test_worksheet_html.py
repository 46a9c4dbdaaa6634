"""The accessible HTML worksheet: tables with headers, a labelled box per answer, the key's
values equal to the trace's, from the same Sheet as the PDF."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from handcalc.display import BLANK, cells, label
from handcalc.worksheet import EXERCISES, main, sheets
from handcalc.worksheet_html import worksheet_html


class Tables(HTMLParser):
    """Each table's caption, its header cells (with scope) and its body cells: the text of a
    cell, or ("input", aria-label) for a text box."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.lang = None
        self._in = None  # "caption", "th", "td"
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag == "caption":
            self._in = "caption"
        elif tag == "th":
            self._in = "th"
            self.tables[-1]["headers"].append((attrs.get("scope"), ""))
        elif tag == "td":
            self._in = "td"
            if "corner" not in (attrs.get("class") or ""):
                self.tables[-1]["rows"][-1].append("")
        elif tag == "input":
            self.tables[-1]["rows"][-1][-1] = ("input", attrs.get("aria-label"))
        elif tag == "span" and "visually-hidden" in (attrs.get("class") or ""):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("caption", "th", "td"):
            self._in = None
        if tag == "span" and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if self._hidden or self._in is None or not self.tables:
            return
        table = self.tables[-1]
        if self._in == "caption":
            table["caption"] += data
        elif self._in == "th":
            scope, text = table["headers"][-1]
            table["headers"][-1] = (scope, text + data)
        elif isinstance(table["rows"][-1][-1], str):
            table["rows"][-1][-1] += data.strip()


def parsed(sheet) -> Tables:
    parser = Tables()
    parser.feed(worksheet_html([sheet]))
    return parser


@pytest.mark.parametrize("exercise", list(EXERCISES))
@pytest.mark.parametrize("answers", [False, True])
def test_every_step_is_a_table_with_headers_and_a_named_box_per_answer(exercise, answers):
    for sheet in sheets(exercise, [0, 5], answers=answers, gradients=True):
        page = parsed(sheet)
        assert page.lang == "en"
        tables = {t["caption"]: t for t in page.tables}
        labels = []
        for name in sheet.steps:
            step = sheet.trace.step(name)
            table = tables[f"Step {sheet.number(name)}: {label(name)}"]
            expected = cells(step.output, step.mask)
            assert [len(row) for row in table["rows"] if row] == [len(r) for r in expected]
            body = [row for row in table["rows"] if row]
            for row, want in zip(body, expected, strict=True):
                for got, entry in zip(row, want, strict=True):
                    if entry == BLANK:  # left for a later step (∂|f|/∂f's zeros)
                        assert got == BLANK
                    elif answers:
                        assert got == entry, (name, got, entry)
                    else:
                        assert got[0] == "input" and got[1], (name, got)
                        labels.append(got[1])
            if len(sheet.trace.axes(name)) == 2:
                scopes = {scope for scope, _ in table["headers"]}
                assert scopes == {"row", "col"}, (name, table["headers"])
        assert len(labels) == len(set(labels)), "two answer boxes share a name"
        if not answers:
            assert labels, "a blank sheet with no box to write in"


def test_a_box_is_named_by_its_step_row_and_column() -> None:
    sheet = sheets("sae", [0])[0]
    z = next(t for t in parsed(sheet).tables if t["caption"] == "Step 1: Z")
    assert z["rows"][2][0] == ("input", "Z, feature 2, token 1 (step 1)")


def test_the_command_line_writes_html(tmp_path) -> None:
    out = tmp_path / "sheet.html"
    assert main(["forward", "--seed", "3", "--html", "--answers", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "answer key, seed 3" in text
    assert text == worksheet_html(sheets("forward", [3], answers=True))
