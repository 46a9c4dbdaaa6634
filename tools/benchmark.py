"""The course's benchmark: one run on this machine, one table.

    .venv/bin/python -m tools.benchmark               # about 4 minutes; needs Chromium
    .venv/bin/python -m tools.benchmark --repeats 10

Rows, each with its bar where the course sets one:
- every solution notebook's Run All in JupyterLab (headless Chromium), and the whole course;
- widget latency: a real click or key press to the last change of the output it updates,
  timed in the page (median and 90th percentile over --repeats interactions per widget);
- `import handcalc` in a fresh interpreter (median of 5);
- the course's SAE trainer (L1, numpy and torch backends) against scikit-learn's
  MiniBatchDictionaryLearning on the same planted features: seconds and features recovered;
  numpy's hand gradients against torch's autograd, milliseconds per step;
- the size of the installed environment (this virtual environment).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tools import benchmark_sae as sae_bench
from tools.lab import Lab, Notebook, chromium

ROOT = Path(__file__).resolve().parent.parent

COURSE_BAR, LATENCY_BAR, IMPORT_BAR = 120.0, 0.100, 0.3


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, measure: str, result: str, bar: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "NOT MET")
        self.rows.append((measure, result, bar, verdict))
        print(f"  {measure}: {result}", file=sys.stderr, flush=True)  # progress while it runs

    def print(self) -> None:
        header = ("measure", "result", "bar", "")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(4)]
        line = "  ".join(f"{{:{w}}}" for w in widths)
        print(line.format(*header).rstrip())
        print("  ".join("-" * w for w in widths[:3]))
        for row in self.rows:
            print(line.format(*row).rstrip())


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def latency(table: Table, name: str, changes: list) -> list[float]:
    seconds = [change.seconds for change in changes]
    median, p90 = statistics.median(seconds), percentile(seconds, 90)
    table.add(
        f"widget latency: {name} ({len(seconds)}x)",
        f"median {1000 * median:.0f} ms, p90 {1000 * p90:.0f} ms",
        f"median < {1000 * LATENCY_BAR:.0f} ms",
        median < LATENCY_BAR,
    )
    return seconds


def browser_rows(table: Table, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="course-"))
    shutil.copytree(ROOT / "solutions", folder / "solutions", ignore=shutil.ignore_patterns("w*"))
    paths = sorted(p.name for p in (folder / "solutions").glob("*.ipynb"))
    opened, total, pages = [], 0.0, {}
    with Lab(folder) as lab, sync_playwright() as playwright:
        browser = chromium(playwright)
        for name in paths:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            notebook = Notebook(page, lab, f"solutions/{name}")
            opened.append(time.perf_counter() - start)
            seconds = notebook.run_all()
            total += seconds
            table.add(f"Run All: solutions/{name}", f"{seconds:.1f} s")
            if name.startswith(("00", "01", "05", "08")):
                pages[name[:2]] = notebook  # widgets measured below, kernels kept alive
            else:
                page.close()
        table.add(
            f"Run All: the whole course ({len(paths)} notebooks)",
            f"{total:.1f} s",
            f"< {COURSE_BAR:.0f} s",
            total < COURSE_BAR,
        )
        table.add("open a notebook (page, kernel start), median", f"{np.median(opened):.1f} s")

        every: list[float] = []
        viewer = pages["00"]
        every += latency(
            table,
            "trace viewer, Next/Back (00)",
            [viewer.click_next("Next" if i % 2 == 0 else "Back") for i in range(repeats)],
        )
        grid = pages["01"]
        size = grid.grid_size()
        answers = [["999"] * size, [""] + ["999"] * (size - 1)]  # two different messages
        every += latency(
            table,
            "answer grid, Check (01)",
            [grid.fill_grid(answers[i % 2]) for i in range(repeats)],
        )
        keys = ["ArrowDown", "ArrowUp"]
        every += latency(
            table,
            "sparsity menu, swaps figures (05)",
            [pages["05"].choose(keys[i % 2]) for i in range(repeats)],
        )
        dashboard = pages["08"]
        start = int(dashboard.run_code("print(plural)"))  # the menu starts on this latent
        firing = "import json; print(json.dumps(F.any(axis=1).nonzero()[0].tolist()))"
        alive = set(json.loads(dashboard.run_code(firing)))
        pair = min((i for i in alive if i + 1 in alive), key=lambda i: abs(i - start))
        for _ in range(abs(pair - start)):  # walk to two neighbouring latents that both fire
            dashboard.choose("ArrowDown" if pair > start else "ArrowUp")
        changes = [dashboard.choose(keys[i % 2]) for i in range(repeats)]
        assert not any("never fires" in change.after for change in changes)
        every += latency(table, "feature dashboard menu, swaps pages (08)", changes)
        table.add(
            "widget latency: all of the above",
            f"median {1000 * statistics.median(every):.0f} ms, "
            f"p90 {1000 * percentile(every, 90):.0f} ms",
            f"median < {1000 * LATENCY_BAR:.0f} ms",
            statistics.median(every) < LATENCY_BAR,
        )
        browser.close()
    shutil.rmtree(folder)


def import_rows(table: Table) -> None:
    code = "import time; t = time.perf_counter(); import handcalc; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(5)
    ]
    median = statistics.median(times)
    table.add(
        "import handcalc (fresh interpreter, median of 5)",
        f"{median:.3f} s",
        f"< {IMPORT_BAR} s",
        median < IMPORT_BAR,
    )


def trainer_rows(table: Table) -> None:
    data = sae_bench.DATA
    sae_bench.course("l1", "torch", 20)  # torch's first call loads its kernels
    runs = {
        "course SAE trainer, torch": sae_bench.course("l1", "torch"),
        "course SAE trainer, numpy": sae_bench.course("l1", "numpy"),
        "scikit-learn MiniBatchDictionaryLearning": sae_bench.sklearn_fit(),
    }
    for name, run in runs.items():
        found = sae_bench.recovered(run["W"], data.directions)
        table.add(
            f"{name} (L1)", f"{run['seconds']:.2f} s, {run['steps']} steps, recovered {found:.2f}"
        )
    numpy_ms, torch_ms = (
        1000 * runs[f"course SAE trainer, {b}"]["seconds"] / sae_bench.STEPS
        for b in ("numpy", "torch")
    )
    table.add(
        "time per step: numpy hand gradients vs torch autograd",
        f"{numpy_ms:.2f} vs {torch_ms:.2f} ms",
    )


def environment_rows(table: Table) -> None:
    def size(path: Path) -> int:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())

    prefix = Path(sys.prefix)
    site = next(prefix.glob("lib/python*/site-packages"))
    torch_bytes = size(site / "torch")
    table.add(
        f"installed environment ({os.path.relpath(prefix, ROOT)})",
        f"{size(prefix) / 1e6:.0f} MB, of which torch {torch_bytes / 1e6:.0f} MB",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="interactions per widget")
    args = parser.parse_args(argv)
    table = Table()
    print("Measuring (about 4 minutes)...", file=sys.stderr)
    browser_rows(table, args.repeats)
    import_rows(table)
    trainer_rows(table)
    environment_rows(table)
    print()
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
