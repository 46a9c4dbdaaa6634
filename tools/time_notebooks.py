"""Print how long each notebook takes to execute, top to bottom, in a fresh kernel.

    python tools/time_notebooks.py                 # every notebook in solutions/ and lessons/
    python tools/time_notebooks.py solutions/02*   # some of them

Lessons run with their stubs unfilled, so their check cells fail as designed; the time is still
the time of a full run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run_seconds(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted(ROOT.glob("solutions/*.ipynb")) + sorted(
        ROOT.glob("lessons/*.ipynb")
    )
    total = 0.0
    print(f"{'notebook':45} {'seconds':>8}")
    for path in paths:
        seconds = run_seconds(path.resolve())
        total += seconds
        print(f"{path.resolve().relative_to(ROOT)!s:45} {seconds:8.1f}", flush=True)
    print(f"{'total':45} {total:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
