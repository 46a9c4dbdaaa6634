"""Benchmark: how much paper the worksheets take, and how much copying they ask for.

    .venv/bin/python tools/benchmark_worksheets.py

For each exercise and paper, over seeds 0, 4, ..., 36: the pages of one sheet (the most and the
fewest; landscape counted apart), the pages of a class set of 30 (the first 30 seeds), and the
dashed grids per sheet (an earlier answer the learner copies in by hand, where the layout could
not put a step under or beside the grid it reads). Issue 27's page budget: linear, forward and
sae 1 page; backward 2 (it repeats the forward pass first); sae --gradients 2.
"""

from __future__ import annotations

import time

from handcalc.worksheet import PAPERS, orientation, sheets

EXERCISES = [("linear", False), ("forward", False), ("backward", False), ("sae", False),
             ("sae", True)]  # fmt: skip


def main() -> None:
    print(f"{'exercise':<16} {'paper':<7} {'pages':>6} {'landscape':>10} {'class of 30':>12} "
          f"{'copies/sheet':>13} {'s/sheet':>8}")  # fmt: skip
    for exercise, gradients in EXERCISES:
        name = exercise + (" --gradients" if gradients else "")
        for paper in PAPERS:
            pages, landscape, copies = [], 0, 0
            start = time.perf_counter()
            for sheet in sheets(exercise, range(0, 40, 4), gradients=gradients):
                size, plans = orientation(sheet, paper)
                pages.append(len(plans))
                landscape += size[0] > size[1]
                copies += sum(part.copy for plan in plans for part, _, _ in plan.parts)
            seconds = (time.perf_counter() - start) / len(pages)
            class_set = sum(len(orientation(s, paper)[1]) for s in sheets(exercise, range(30),
                            gradients=gradients))  # fmt: skip
            spread = f"{min(pages)}-{max(pages)}" if min(pages) != max(pages) else str(pages[0])
            print(f"{name:<16} {paper:<7} {spread:>6} {landscape:>10} {class_set:>12} "
                  f"{copies / len(pages):>13.1f} {seconds:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
