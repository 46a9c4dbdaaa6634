"""Accessibility of the lessons: every figure is followed by a one-line text description
("*Figure: ...*"), has a title, and says what it shows in its alt text; headings go down one
level at a time; right and wrong are told in colours that reach WCAG AA's 4.5:1 on what they are
drawn on."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SHOWS_A_FIGURE = re.compile(r"^(plt\.show\(\)|dashboard\(\w+\))$", re.MULTILINE)
DESCRIBES_ITSELF = ("SuperpositionExplorer(", "Gallery(")  # each page has its own text
# Calls that put what a figure shows, in words with the run's numbers, in its alt text.
DESCRIBED = ("figures.describe(", "plot_toy_model(", "plot_graph(", "dashboard(", "show_rows(")
TITLED = ("title=", "set_title(", "suptitle(", "plot_toy_model(", "plot_graph(", "dashboard(")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_figure_has_a_title_and_a_description(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or not SHOWS_A_FIGURE.search(cell.source):
            continue
        if any(widget in cell.source for widget in DESCRIBES_ITSELF):
            continue
        following = cells[i + 1] if i + 1 < len(cells) else None
        assert following is not None and following.cell_type == "markdown", cell.source[:80]
        assert following.source.lstrip().startswith("*Figure:"), (
            f"{path.name}: the figure of {cell.source[:60]!r} has no '*Figure: ...*' description"
        )
        assert any(mark in cell.source for mark in TITLED), f"{path.name}: untitled figure"
        assert any(mark in cell.source for mark in DESCRIBED), (
            f"{path.name}: the figure of {cell.source[:60]!r} does not say what it shows in its "
            "alt text (hc.figures.describe, with the run's numbers)"
        )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_headings_go_down_one_level_at_a_time(path: Path) -> None:
    level = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^(#+) ", line)
            if match:
                new = len(match.group(1))
                assert new <= level + 1, f"{path.name}: {line!r} skips a heading level"
                level = new
    assert level, f"{path.name} has no headings"


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.1's contrast ratio of two colours, each #rrggbb or CSS rgb(r, g, b)."""

    def luminance(colour: str) -> float:
        if colour.startswith("#"):
            channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        else:
            channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("rgb(0, 114, 178)", "#ffffff") == pytest.approx(5.19, abs=0.01)
    assert contrast("#0072B2", "#ffffff") == pytest.approx(5.19, abs=0.01)
    assert contrast("#D55E00", "#ffffff") == pytest.approx(3.87, abs=0.01)  # the old wrong: fails


@pytest.mark.parametrize("verdict", ["RIGHT", "WRONG"])
def test_right_and_wrong_reach_4_5_to_1_on_white_and_on_their_tint(verdict: str) -> None:
    from handcalc import checks

    _, colour, tint = getattr(checks, verdict)
    assert contrast(colour, "#ffffff") >= 4.5 and contrast(colour, tint) >= 4.5


def test_each_lesson_links_the_next_in_a_paragraph_of_its_own() -> None:
    """A link alone in its paragraph needs no colour to be told apart from text (axe's
    link-in-text-block), and no lesson leaves the learner without the way on."""
    for path, after in itertools.pairwise(SOLUTIONS):
        paragraphs = [
            paragraph.strip()
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "markdown"
            for paragraph in cell.source.split("\n\n")
        ]
        nexts = [p for p in paragraphs if f"]({after.name})" in p]
        assert nexts, f"{path.name} has no link to {after.name}"
        for paragraph in nexts:
            assert re.fullmatch(
                rf"\[Next: {after.stem[:2]} · [^\]]+\]\({after.name}\)", paragraph
            ), f"{path.name}: the link to {after.name} sits in text: {paragraph[:120]!r}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_links_inside_text_are_underlined(path: Path) -> None:
    """A link in a sentence or a reference is told apart by its underline, not its colour alone
    (axe's link-in-text-block); a link alone in its paragraph (Next: ...) needs none."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`]*`", "", cell.source)
        for words in re.findall(r"(?<!!)\[([^\]\n]+)\]\(", text):
            assert words.startswith(("<u>", "Next: ")), f"{path.name}: link {words!r}"
        bare = re.sub(r"\[[^\]\n]+\]\([^)\s]+\)", "", text)
        assert not re.search(r"https?://", bare), f"{path.name}: a bare address in {bare[:200]!r}"


def test_a_boxs_placeholder_reads_on_white_and_on_both_tints() -> None:
    from handcalc import checks
    from handcalc.widgets import STYLE

    colour = re.search(r"::placeholder \{\{? color: (#[0-9a-fA-F]{6})", STYLE).group(1)
    for background in ("#ffffff", checks.RIGHT[2], checks.WRONG[2]):
        assert contrast(colour, background) >= 4.5, (colour, background)


def test_the_focus_ring_is_at_least_2_px() -> None:
    from handcalc.widgets import STYLE

    ring = re.search(r":focus-visible \{\s*outline: (\d+)px solid", STYLE)
    assert ring and int(ring.group(1)) >= 2
