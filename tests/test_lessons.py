"""lessons/ is generated from solutions/. (That every solution runs and its checks say Correct,
and that in every lesson exactly the check cells fail, is tested in JupyterLab itself:
tests/test_browser.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import handcalc as hc
from handcalc.assignment import STUB, cell_names, exercises, strip_solution
from tools.make_lessons import RAISES, expected_lessons

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))


def test_there_are_lessons() -> None:
    assert len(SOLUTIONS) >= 3 and [p.name for p in LESSONS] == [p.name for p in SOLUTIONS]


def test_lessons_are_exactly_what_the_script_writes() -> None:
    for path, text in expected_lessons(ROOT).items():
        assert path.read_text() == text, f"{path.name} is stale: run python tools/make_lessons.py"


@pytest.mark.parametrize("path", SOLUTIONS + LESSONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_without_outputs_and_with_a_standard_kernel(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_strip_solution_keeps_indentation_and_the_rest() -> None:
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\nprint(f)"
    assert strip_solution(source) == f"def f(x):\n    {STUB}\nprint(f)"


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx", "x\n### END SOLUTION"])
def test_unbalanced_markers_are_refused(source: str) -> None:
    with pytest.raises(ValueError):
        strip_solution(source)


@pytest.mark.parametrize("path", SOLUTIONS + LESSONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_run_all_goes_past_a_lessons_unfilled_exercise_only(path: Path) -> None:
    """In a lesson, each check cell may raise (the stub), so Run All goes on; in a solution,
    nothing may."""
    for cell in nbformat.read(path, as_version=4).cells:
        tags = cell.metadata.get("tags", [])
        assert (RAISES in tags) == (path.parent.name == "lessons" and "check" in tags), cell.source


def grids_and_seed(name: str) -> tuple[list[str], int]:
    """The steps a by-hand lesson's answer grids ask for, and the seed of the learner's problem."""
    notebook = nbformat.read(ROOT / "solutions" / name, as_version=4)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    seed = int(re.search(r"^seed = (\d+)$", source, re.M).group(1))
    return re.findall(r'MatrixEntry\("(\w+)", mine\)', source), seed


def test_lesson_03_grids_cover_one_layer_backward_and_the_update() -> None:
    grids, _ = grids_and_seed("03_loss_backprop.ipynb")
    assert {"dX_hat", "dW4", "db4", "dH3", "dZ3", "W4_new"} <= set(grids), grids


def test_lesson_06_grids_go_past_the_loss_gradient_and_meet_thirds() -> None:
    grids, seed = grids_and_seed("06_sae_by_hand.ipynb")
    wanted = {"dF", "dZ", "dW_enc", "dW_dec_mse", "dW_dec_l1", "W_dec_new"}
    assert wanted <= set(grids), grids
    sparsity_part = hc.sae_trace(hc.sae_problem(seed))["dW_dec_l1"]
    thirds = [v for v in sparsity_part.flat if v != round(v) and abs(3 * v - round(3 * v)) < 1e-9]
    assert thirds, f"seed {seed}: the lesson says thirds appear, but its problem has none"


def test_lesson_06_reads_the_features_it_says() -> None:
    """Lesson 06 ends by naming what each canonical feature fires on; the problem agrees."""
    problem = hc.sae_problem()
    F = hc.sae_trace(problem)["F"]
    fires_on = [{t for t, f in zip(problem.tokens, row, strict=True) if f > 0} for row in F]
    assert fires_on == [
        {"lake", "river"},
        {"river", "bank"},
        {"bank"},
        {"bank", "loan"},
        {"loan", "money"},
        {"money"},
    ]
    source = "\n".join(c.source for c in nbformat.read(SOLUTIONS[6], as_version=4).cells)
    for claim in (
        "feature 1 fires\non *lake* and *river*",
        "feature 2 on *river* and *bank*",
        "feature 4 on\n*bank* and *loan*",
        "feature 5 on *loan* and *money*",
        "Features 3 and 6 fire on\none token each",
        "*bank* fires three features",
    ):
        assert claim in source, claim


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_hints_come_before_the_check_they_help_with(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if "check" in cell.metadata.get("tags", []):
            following = cells[i + 1] if i + 1 < len(cells) else None
            assert not (following and following.source.startswith("<details><summary>Hint")), (
                f"cell {i + 1}: a hint right after a check cell; put it before the check"
            )


def test_lesson_01_explains_entries_counted_from_one() -> None:
    source = "\n".join(c.source for c in nbformat.read(SOLUTIONS[1], as_version=4).cells)
    assert "01_linear_relu" in SOLUTIONS[1].name and 'hc.explain("Z1", problem, 1, 1)' in source
    assert "i, n = 0, 0" not in source


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_check_cell_fails_kindly(path: Path) -> None:
    """Its code runs inside hc.exercise(), which explains an error in the learner's code."""
    for cell in nbformat.read(path, as_version=4).cells:
        if "check" in cell.metadata.get("tags", []):
            first, *body = cell.source.split("\n")
            assert first.startswith("with hc.exercise():"), cell.source[:60]
            assert all(not line.strip() or line.startswith("    ") for line in body)


LABEL = re.compile(r"\*\*Exercise: [^*]+\*\* \(difficulty [●○]{3}, about \d+ min\)")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_lesson_says_what_it_needs_what_it_gives_and_what_to_read(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    assert (
        "**Before you start:**" in cells[0].source and "**You will be able to:**" in cells[0].source
    )
    read = [
        c.source for c in cells if c.cell_type == "markdown" and c.source.startswith("## Read next")
    ]
    assert len(read) == 1, "one Read next section"
    entries = [e for e in re.split(r"\n(?=- )", read[0]) if e.startswith("- ")]  # one per item
    assert entries and all(re.search(r"https://\S+", entry) for entry in entries)
    assert all(
        re.search(r"\(\d{4}\)", entry)
        for entry in entries
        if "documentation" not in entry and "library" not in entry
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_shows_its_difficulty_and_time(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            before = next(c for c in reversed(cells[:i]) if c.cell_type == "markdown")
            assert LABEL.search(before.source), f"cell {i}: no exercise label before it"
        if cell.cell_type == "markdown" and cell.source.startswith("## Your turn, by hand"):
            assert LABEL.search(cell.source), f"cell {i}: the by-hand exercise has no label"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_only_check_cells_call_the_learners_functions_and_stubs_wait_inside_them(path) -> None:
    """So that Run All in a lesson fails exactly at the check cells of unfilled exercises."""
    notebook = nbformat.read(path, as_version=4)
    graded = exercises(notebook)
    mine = {name for e in graded for name in e.functions}
    own = {cell for e in graded for cell in (*e.answers, e.check)}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            assert line.strip() != STUB or line.startswith(" "), (
                f"a stub outside a function: {line}"
            )
        if cell.id not in own:
            scanned = cell_names(cell.source)
            reads = scanned[1] if scanned else set()
            assert not reads & mine, f"{path.name}: {cell.source[:80]!r} uses {reads & mine}"
