"""Every code exercise of every lesson fails kindly: each lesson is run (the cells its checks
need, as a grader runs it) with each exercise's code replaced by a line numpy cannot compute (a
bias added as a row), and every check cell must say so in the course's words, without raising."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from handcalc.assignment import STUB, exercises, needed, strip_solution

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "__import__('numpy').ones((3, 4)) + __import__('numpy').ones(3)  # a row-shaped bias"


def checks(cells: list) -> list[int]:
    return [i for i, cell in enumerate(cells) if "check" in cell.metadata.get("tags", [])]


LESSONS = [
    path
    for path in sorted((ROOT / "solutions").glob("*.ipynb"))
    if checks(nbformat.read(path, as_version=4).cells)
]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_broken_exercise_code_is_explained_in_every_check(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    graded = {cell for e in exercises(notebook) for cell in (*e.answers, e.check)}
    run = needed(notebook, graded)  # as a grader runs it: without the figures and widgets
    notebook.cells = [c for c in notebook.cells if c.cell_type == "code" and c.id in run]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source).replace(STUB, BROKEN)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()  # any cell that raises fails the test here
    for i in checks(notebook.cells):
        printed = "".join(o.get("text", "") for o in notebook.cells[i].outputs)
        assert printed.startswith("✘ Your "), f"cell {i}: {printed[:200]!r}"
        first = " ".join(line.strip() for line in printed.split("\n\n")[0].splitlines())
        assert "make it a column, b[:, None]" in first, printed[:300]
        assert "Traceback" in printed  # the details come after the explanation
