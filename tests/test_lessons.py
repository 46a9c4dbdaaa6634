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
    cells = nbformat.read(SOLUTIONS[6], as_version=4).cells
    source = " ".join(" ".join(c.source for c in cells).split())  # line breaks as spaces
    for claim in (
        "feature 1 fires on *lake* and *river*",
        "feature 2 on *river* and *bank*",
        "feature 4 on *bank* and *loan*",
        "feature 5 on *loan* and *money*",
        "Features 3 and 6 fire on one token each",
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


# A number an experiment produces appears in a lesson only as the notebook prints it; markdown
# states what holds on every computer and seed. What looks measured in markdown: decimals,
# percentages, "N of M", signed numbers and counts of dead or live latents. Settings, thresholds
# and cited facts from papers are allowed, each listed here with its reason (reviewed by hand).
MEASURED = re.compile(
    r"(?<![\w.])[−+-]?\d[\d,]*\.\d+(?:\s?%)?"  # 0.74, −0.03, 1,024.5
    r"|(?<![\w.])\d+\s?%"  # 42%
    r"|\b\d+ of \d+\b"  # 30 of 64
    r"|(?<![\w.])[−+]\d+\b"  # +4, −1
    r"|\b\d+ (?:dead|live)\b"  # 35 dead
)
ALLOWED = {
    "04": {"95%": "the threshold: the 95th percentile of the training scores, a setting"},
    "05": {
        "0.5": "the sparsity S of a model, a setting; and the 'longer than 0.5' kept threshold",
        "0.8": "the sparsity S of a model, a setting",
        "0.95": "the sparsity S of a model, a setting",
        "0.99": "the sparsity S of a model, a setting",
    },
    "06": {
        "0.3": "the penalty weight λ, a setting",
        "−1": "the sign convention some worksheets write for the L1 step",
        "+1": "the true gradient of |f| for positive f",
    },
    "07": {
        "0.9": "the cosine threshold of 'recovered', a definition",
        "−100": "the bias the lesson sets to kill latents, a setting",
    },
    "08": {
        "30%": "Paulo & Belrose (2025): the share of latents shared across seeds, cited",
        "99%": "the 99% line drawn in the figure, a threshold",
        "0.5": "the AUROC of chance, a definition",
        "0.75": "the F1 at which the check calls a reading supported, a setting",
    },
    "11": {"300 of 33": "Templeton et al. (2024): under 300 active of 33 million features, cited"},
}


def _prose(source: str) -> str:
    """A markdown cell without its link targets, addresses and code spans (settings in code)."""
    source = re.sub(r"\]\([^)]*\)", "]", source)
    source = re.sub(r"https?://\S+", "", source)
    return re.sub(r"`[^`]*`", "", source)


def test_the_number_pattern_finds_measured_numbers() -> None:
    said = "precision 0.74; 2x flips 42% of the verbs; 30 of 64 live; (+4.00); 35 dead latents"
    assert MEASURED.findall(said) == ["0.74", "42%", "30 of 64", "+4.00", "35 dead"]
    assert MEASURED.findall(_prose("with `lam = 0.3`, see [paper](https://x.org/2403.19647)")) == []


def test_markdown_states_no_measured_number() -> None:
    found = []
    for path in SOLUTIONS:
        lesson = path.name[:2]
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            prose = _prose(cell.source)
            for match in MEASURED.finditer(prose):
                if match.group() not in ALLOWED.get(lesson, {}):
                    context = prose[max(0, match.start() - 50) : match.end() + 30]
                    found.append(f"{path.name}: {match.group()!r} in ...{context!r}...")
    assert not found, "Numbers typed into markdown (print them from the code instead):\n" + (
        "\n".join(found)
    )


def test_every_allowed_number_is_still_used() -> None:
    """An allowed number that no lesson says any more is a stale entry: remove it."""
    said = {}
    for path in SOLUTIONS:
        cells = nbformat.read(path, as_version=4).cells
        said[path.name[:2]] = " ".join(_prose(c.source) for c in cells if c.cell_type == "markdown")
    stale = [(lesson, n) for lesson, numbers in ALLOWED.items() for n in numbers
             if n not in MEASURED.findall(said[lesson])]  # fmt: skip
    assert not stale


def test_a_lesson_cell_over_nbval_s_time_limit_says_so(tmp_path: Path) -> None:
    """Issue 23: a notebook cell that runs past the time limit fails as that ("Timeout of ...
    exceeded"), and the cells after it are expected failures, not NameErrors of their own."""
    import subprocess
    import sys

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import time\ntime.sleep(60)\nmodel = 1"),
        nbformat.v4.new_code_cell("print(model)"),
    ]
    notebook.metadata.kernelspec = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "slow.ipynb"
    nbformat.write(notebook, path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-cell-timeout=3", "-rxX", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert "Timeout of 3 seconds exceeded" in done.stdout
    assert "Previous cell timed out" in done.stdout and "1 failed, 1 xfailed" in done.stdout
