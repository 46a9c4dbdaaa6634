"""Printable worksheets: valid PDFs of the right paper, the answer key's numbers are the trace's,
the blank sheet holds none of them, the same arguments give the same bytes, and the command
line fails with one clear line and status 2."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pytest
from pypdf import PdfReader

from handcalc.display import cells
from handcalc.worksheet import EXERCISES, PAPERS, main, sheet_pages, sheets, worksheet_pdf

POINTS = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}  # the standards, in PDF points


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def answer_tokens(sheet, name: str) -> list[str]:
    step = sheet.trace.step(name)
    return [entry for row in cells(step.output, step.mask) for entry in row]


def contains_run(tokens: list[str], run: list[str]) -> bool:
    return any(tokens[i : i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_product_layouts_multiply_to_the_step(seed: int) -> None:
    """Step.product names operands that really give the step's output when multiplied."""
    for exercise in ("backward", "sae"):
        trace = EXERCISES[exercise].trace(seed)

        def value(name: str, trace=trace) -> np.ndarray:
            v = np.asarray(trace[name.rstrip("ᵀ")], dtype=float)
            return v.T if name.endswith("ᵀ") else v

        for step in trace:
            if not step.product:
                continue
            left, top, *bias = step.product

            expected = value(left) @ value(top)
            if bias:
                expected = expected + value(bias[0])[:, None]
            if step.name == "dF":  # dF adds the sparsity gradient to the product
                expected = expected + trace["l1_grad"]
            np.testing.assert_allclose(expected, step.output, err_msg=step.name)


@pytest.mark.parametrize("paper", list(PAPERS))
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_pdf_pages_are_the_paper_and_the_layout(exercise: str, paper: str) -> None:
    seeds = [0, 4]
    pdf = worksheet_pdf(exercise, seeds, paper)
    reader = PdfReader(io.BytesIO(pdf))
    expected_pages = sum(len(sheet_pages(s, paper)) for s in sheets(exercise, seeds))
    assert len(reader.pages) == expected_pages
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(POINTS[paper], abs=0.5)
    footers = [re.search(r"seed (\d+) · page (\d+) of (\d+)", t).groups() for t in pages_text(pdf)]
    for seed in seeds:  # each sheet numbers its own pages 1..n, in order
        numbers = [(int(p), int(n)) for s, p, n in footers if int(s) == seed]
        assert [p for p, _ in numbers] == list(range(1, len(numbers) + 1))
        assert {n for _, n in numbers} == {len(numbers)}


def test_the_linear_sheet_is_one_page_and_the_key_has_the_sheets_pages() -> None:
    assert len(PdfReader(io.BytesIO(worksheet_pdf("linear"))).pages) == 1
    for exercise in EXERCISES:
        blank = PdfReader(io.BytesIO(worksheet_pdf(exercise, [2])))
        key = PdfReader(io.BytesIO(worksheet_pdf(exercise, [2], answers=True)))
        assert len(blank.pages) == len(key.pages)


def test_text_is_embedded_truetype() -> None:
    reader = PdfReader(io.BytesIO(worksheet_pdf("sae")))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for font in fonts.values():
        font = font.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2"  # TrueType outlines
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()  # embedded
        assert "DejaVuSans" in font["/BaseFont"]


@pytest.mark.parametrize(
    ("exercise", "gradients"),
    [("linear", False), ("forward", False), ("backward", False), ("sae", True)],
)
@pytest.mark.parametrize("seed", [0, 3, 17])
def test_answer_key_numbers_are_the_traces(exercise: str, seed: int, gradients: bool) -> None:
    """Every step's answers, row by row, stand together on one page of the key."""
    (sheet,) = sheets(exercise, [seed], answers=True, gradients=gradients)
    pdf = worksheet_pdf(exercise, [seed], "a4", answers=True, gradients=gradients)
    pages = [text.split() for text in pages_text(pdf)]
    for name in sheet.steps:
        run = answer_tokens(sheet, name)
        title = sheet.trace.step(name).title.split()
        on = [i for i, tokens in enumerate(pages) if contains_run(tokens, title)]
        assert len(on) == 1, f"{name}: its title should be on exactly one page"
        assert contains_run(pages[on[0]], run), f"{name}: answers {run} not on its page"


@pytest.mark.parametrize("exercise", list(EXERCISES))
@pytest.mark.parametrize("seed", [0, 9])
def test_blank_sheet_holds_none_of_the_answers(exercise: str, seed: int) -> None:
    """The key has exactly the answer cells more than the blank: every result grid, and every
    earlier answer copied in as an operand."""
    gradients = exercise == "sae"
    blank, key = (
        sum(len(t.split()) for t in pages_text(worksheet_pdf(exercise, [seed], "a4", a, gradients)))
        for a in (False, True)
    )
    (sheet,) = sheets(exercise, [seed], gradients=gradients)
    answers = 0
    for name in sheet.steps:
        step = sheet.trace.step(name)
        answers += np.size(step.output)  # a loss is one box
        for operand in step.product[:2]:  # an earlier answer, copied in
            if operand.rstrip("ᵀ") in sheet.steps:
                answers += np.size(sheet.trace[operand.rstrip("ᵀ")])
    pages = len(PdfReader(io.BytesIO(worksheet_pdf(exercise, [seed], gradients=gradients))).pages)
    # and the words: "ANSWER KEY" at the top, "answer key" for "worksheet" in each footer
    assert key - blank == answers + 2 + pages


def test_blank_sheet_does_not_show_a_computed_row() -> None:
    lines = {line for text in pages_text(worksheet_pdf("sae")) for line in text.splitlines()}
    (sheet,) = sheets("sae", [0])
    for name in ("Z", "F", "X_hat", "dX_hat"):
        for row in cells(sheet.trace[name]):
            if len(set(row)) > 1:  # a row of one repeated value could be anything
                assert " ".join(row) not in lines, f"{name} row {row} is on the blank sheet"


def test_same_arguments_same_bytes() -> None:
    first = worksheet_pdf("sae", [3, 4], "letter", answers=True, gradients=True)
    again = worksheet_pdf("sae", [3, 4], "letter", answers=True, gradients=True)
    assert first == again
    assert first != worksheet_pdf("sae", [3, 5], "letter", answers=True, gradients=True)


def test_every_generated_sheet_fits_its_paper() -> None:
    """Numbers never shrink to fit: a block wider than the page raises, so lay out many seeds."""
    for paper in PAPERS:
        for exercise in EXERCISES:
            for sheet in sheets(exercise, range(40), gradients=True):
                assert sheet_pages(sheet, paper)


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "handcalc.worksheet", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nonsense"], "invalid choice: 'nonsense' (choose from 'linear', 'forward'"),
        (["sae", "--count", "-3"], "argument --count: must be 1 or more; got -3"),
        (["sae", "--count", "two"], "argument --count: must be a whole number; got 'two'"),
        (["sae", "--paper", "a5"], "invalid choice: 'a5' (choose from 'a4', 'letter')"),
        (["sae", "--seed", "-1"], "argument --seed: must be 0 or more; got -1"),
        (["linear", "--gradients"], "--gradients is for the sae exercise only"),
        ([], "the following arguments are required: exercise"),
    ],
)
def test_bad_arguments_one_line_and_status_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_unwritable_path(tmp_path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    result = run("linear", "--out", str(blocker / "sheet.pdf"))
    assert result.returncode == 2
    assert result.stderr.startswith("handcalc-worksheet: cannot write ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_help_explains_every_option() -> None:
    result = run("--help")
    assert result.returncode == 0
    for option in ("--seed", "--count", "--paper", "--answers", "--gradients", "--out"):
        assert option in result.stdout
    for exercise in EXERCISES:
        assert exercise in result.stdout


def test_command_writes_a_class_set(tmp_path, capsys) -> None:
    out = tmp_path / "class.pdf"
    assert main(["sae", "--seed", "7", "--count", "3", "--paper", "letter", "--out", str(out)]) == 0
    assert f"wrote {out} (3 sheets)" in capsys.readouterr().out
    text = " ".join(pages_text(out.read_bytes()))
    assert all(f"seed {seed} ·" in text for seed in (7, 8, 9))
    assert out.read_bytes() == worksheet_pdf("sae", [7, 8, 9], "letter")


def test_any_trace_renders() -> None:
    import handcalc as hc
    from handcalc.worksheet import trace_pdf

    trace = hc.autoencoder_trace(hc.autoencoder_problem(2))
    text = " ".join(pages_text(trace_pdf(trace, ["Z1", "H1", "Z2"], "letter", answers=True)))
    assert trace.title in text
    for name in ("Z1", "H1", "Z2"):
        assert contains_run(text.split(), [e for row in cells(trace[name]) for e in row])
    assert "Layer 3" not in text  # only the steps asked for
