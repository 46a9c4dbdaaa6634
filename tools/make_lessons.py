"""Make the learner's notebooks: lessons/NN_name.ipynb from solutions/NN_name.ipynb.

In a code cell, the lines from `### BEGIN SOLUTION` to `### END SOLUTION` become a stub that
raises NotImplementedError, indented like the marker, so an unfilled exercise fails loudly. A
markdown cell whose first line is `<!-- SOLUTION -->` is left out of the lesson. A check cell
(tagged `check`) is also tagged `raises-exception` in the lesson, so that JupyterLab's Run All
goes on past an exercise not done yet instead of stopping there. Outputs and execution counts
are cleared in both. Both carry nbgrader's metadata (handcalc.assignment.add_nbgrader_metadata):
answer cells are solution cells, check cells read-only autograded tests; the solutions are
rewritten when theirs is out of date.

    python tools/make_lessons.py           # write lessons/
    python tools/make_lessons.py --check   # exit 1 if lessons/ is not what this would write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from handcalc.assignment import add_nbgrader_metadata, strip_solution

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = "<!-- SOLUTION -->"
RAISES = "raises-exception"  # JupyterLab and nbclient go on after such a cell fails


def clear_outputs(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def lesson_from(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    lesson = nbformat.from_dict(solution)
    lesson.cells = [
        cell
        for cell in lesson.cells
        if not (cell.cell_type == "markdown" and cell.source.startswith(HIDDEN))
    ]
    for cell in lesson.cells:
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source)
            tags = cell.metadata.get("tags", [])
            if "check" in tags and RAISES not in tags:
                cell.metadata.tags = [*tags, RAISES]
    clear_outputs(lesson)
    return lesson


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def stamped(path: Path) -> nbformat.NotebookNode:
    """A solution notebook with its nbgrader metadata up to date."""
    solution = nbformat.read(path, as_version=4)
    add_nbgrader_metadata(solution, path.stem)
    return solution


def expected_lessons(root: Path = ROOT) -> dict[Path, str]:
    """{notebook path: the text it should have}: every lesson, and every solution (whose
    nbgrader metadata this keeps up to date)."""
    expected = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        solution = stamped(path)
        expected[path] = path.read_text() if _same(path, solution) else render(solution)
        expected[root / "lessons" / path.name] = render(lesson_from(solution))
    return expected


def _same(path: Path, solution: nbformat.NotebookNode) -> bool:
    """Whether the file already holds this notebook (its outputs as they are)."""
    return nbformat.read(path, as_version=4) == solution


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report lessons out of date")
    args = parser.parse_args(argv)
    expected = expected_lessons()
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = [p for p in (ROOT / "lessons").glob("*.ipynb") if p not in expected]
    if args.check:
        for path in stale + extra:
            print(f"out of date: {path.relative_to(ROOT)}")
        return 1 if stale or extra else 0
    for path in stale:
        path.write_text(expected[path])
        print(f"wrote {path.relative_to(ROOT)}")
    for path in extra:
        path.unlink()
        print(f"removed {path.relative_to(ROOT)} (no solution notebook)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
