"""How much the learner writes: per lesson, the exercises (solution regions), the lines of code in
them (not blank, not comments) and the by-hand grids.

    python tools/count_exercises.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from handcalc.assignment import BEGIN, END

ROOT = Path(__file__).resolve().parent.parent


def count(path: Path) -> tuple[int, int, int]:
    """(exercises, lines of learner code, grids) in one solution notebook."""
    exercises = lines = grids = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        grids += cell.source.count("MatrixEntry(")
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line:
                inside, exercises = True, exercises + 1
            elif END in line:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                lines += 1
    return exercises, lines, grids


def main() -> None:
    print(f"{'lesson':32} {'exercises':>9} {'lines':>6} {'grids':>6}")
    totals, later = [0, 0, 0], 0
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        numbers = count(path)
        print(f"{path.stem:32} {numbers[0]:9} {numbers[1]:6} {numbers[2]:6}")
        totals = [t + n for t, n in zip(totals, numbers, strict=True)]
        later += numbers[1] if path.stem[:2] >= "05" else 0
    print(f"{'all lessons':32} {totals[0]:9} {totals[1]:6} {totals[2]:6}")
    print(f"lines of learner code in lessons 05-11: {later}")


if __name__ == "__main__":
    main()
