"""lessons/ is generated from solutions/, and the stubs it leaves really fail their checks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools.make_lessons import STUB, expected_lessons, strip_solution

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


def run(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return notebook


def errors(cell) -> list[str]:
    return [o.ename for o in cell.get("outputs", []) if o.output_type == "error"]


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_run_and_every_check_says_correct(path: Path) -> None:
    notebook = run(path)
    for cell in notebook.cells:
        assert not errors(cell), f"{path.name}: {cell.source[:60]!r} raised {errors(cell)}"
        if "check" in cell.metadata.get("tags", []):
            lines = text(cell).strip().splitlines()
            assert lines and all(line.startswith("Correct") for line in lines), text(cell)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_unfilled_stubs_fail_their_checks_and_nothing_else_fails(path: Path) -> None:
    notebook = run(path)
    for cell in notebook.cells:
        if "check" in cell.metadata.get("tags", []):
            assert errors(cell) == ["NotImplementedError"], (
                f"a stub passed its check: {cell.source}"
            )
        else:
            assert not errors(cell), f"{path.name}: {cell.source[:60]!r} raised {errors(cell)}"
