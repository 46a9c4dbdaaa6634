"""How long `handcalc-grade` takes for a class: one table.

    .venv/bin/python -m tools.benchmark_grading                      # lessons 01, 03, 06, 07
    .venv/bin/python -m tools.benchmark_grading --lessons 03 --count 30 --jobs 1

Each lesson gets `count` submissions, a third each right (the solution's answers), unfilled (the
lesson as handed out) and wrong (every answer returns None), graded by the same code as the
command, one notebook per core at a time, in the sandbox and (for comparison) without it. The
bar: 30 submissions of a lesson well under 2 min.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat

from handcalc import sandbox
from handcalc.assignment import STUB, strip_solution
from handcalc.grading import Submission, grade_class, lessons
from handcalc.runner import Limits

ROOT = Path(__file__).resolve().parent.parent
BAR = 120.0


def wrong(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution with every exercise answering None."""
    notebook = nbformat.from_dict(solution)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source).replace(STUB, "return None")
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", default=["01", "03", "06", "07"])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--jobs", type=int, help="default: one per core")
    args = parser.parse_args()
    known = lessons(ROOT / "solutions")
    jobs = args.jobs or len(os.sched_getaffinity(0))
    modes = [("sandbox", True), ("none", False)] if sandbox.available() else [("none", False)]
    print(f"{'lesson':26} {'isolation':>9} {'notebooks':>9} {'jobs':>4} {'total s':>8} "
          f"{'s each':>7} {'bar':>10}")  # fmt: skip
    for prefix in args.lessons:
        lesson = next(name for name in known if name.startswith(prefix))
        solution = known[lesson]
        handed_out = nbformat.read(ROOT / "lessons" / f"{lesson}.ipynb", as_version=4)
        kinds = [solution, handed_out, wrong(solution)]
        for mode, isolate in modes:
            with tempfile.TemporaryDirectory() as folder:
                submissions = []
                for i in range(args.count):
                    path = Path(folder) / f"learner{i:02}_{lesson}.ipynb"
                    nbformat.write(kinds[i % 3], path)
                    submissions.append(Submission(path.stem, path, by_file=True))
                started = time.perf_counter()
                limits = Limits(isolate=isolate)
                graded = grade_class(submissions, known, limits, jobs=jobs, progress=False)
                took = time.perf_counter() - started
            full = [g.points == g.max_points for g in graded]
            assert full == [i % 3 == 0 for i in range(args.count)], "a right answer graded wrong"
            assert all(bool(g.isolated) == isolate for g in graded)
            met = f"{'met' if took < BAR else 'NOT MET'} (<{BAR:.0f})" if args.count == 30 else ""
            each = took / args.count
            print(
                f"{lesson:26} {mode:>9} {args.count:9} {jobs:4} {took:8.1f} {each:7.2f} {met:>10}"
            )


if __name__ == "__main__":
    main()
