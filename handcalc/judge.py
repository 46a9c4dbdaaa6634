"""The grader's own kernel, where a class's verdicts are decided (see handcalc.recording).

A Judge starts a kernel that only the course's code ever runs in (HANDCALC_JUDGE set), runs a
lesson's solution there once (the cells a grader needs), and then, for each learner, runs a check
cell again with that learner's recorded answers in place of the solution's: `verdict(source,
answers)` returns what the cell showed (handcalc.exercise.VERDICT). The learner's answers reach it
as JSON data only, never as code.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
from pathlib import Path

import nbformat

from .exercise import VERDICT
from .runner import GRADING_ENV

STARTUP_SECONDS = 120
SAVED = "globals().setdefault('_handcalc_saved', {})"  # {check cell id: its names}


class JudgeFailed(Exception):
    """The course's own code failed in the judge's kernel (a bug of the course, not of a
    learner): grading cannot go on for that lesson."""


class Judge:
    """One lesson's judging kernel. Thread-safe: one verdict at a time."""

    def __init__(self, solution: nbformat.NotebookNode, cell_seconds: float) -> None:
        from jupyter_client.manager import KernelManager

        self._folder = tempfile.TemporaryDirectory(prefix="handcalc-judge-")
        self._lock = threading.Lock()
        self._seconds = cell_seconds
        env = os.environ | GRADING_ENV | {"HANDCALC_JUDGE": "1"}
        where = Path(self._folder.name, "kernel")  # local sockets, not a network port
        self._manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(where))
        self._manager.start_kernel(cwd=self._folder.name, env=env)
        self._client = self._manager.client()
        try:
            self._client.start_channels()
            self._client.wait_for_ready(timeout=STARTUP_SECONDS)
            for cell in solution.cells:
                if cell.cell_type == "code":
                    if "check" in cell.metadata.get("tags", []):  # its names, as they are now
                        self._run(f"{SAVED}.setdefault({cell.id!r}, dict(globals()))")
                    _, error = self._run(cell.source)
                    if error and not error.startswith("NotPassed"):  # no answers yet: wrong
                        raise JudgeFailed(f"the lesson's cell {cell.id} failed: {error}")
        except BaseException:
            self.close()
            raise

    def verdict(self, check: str, source: str, answers: dict) -> dict:
        """Run `source` with `answers` ({key: encoded answer}) as the learner's, with the names
        that check cell `check` saw when the lesson ran (not those of the cells after it); the
        verdict it showed, or one saying why it showed none."""
        with self._lock:
            path = Path(self._folder.name, "answers.json")
            path.write_text(json.dumps(answers))
            _, error = self._run(f"__import__('handcalc.recording').recording.load({str(path)!r})")
            if error:
                raise JudgeFailed(f"could not load the answers: {error}")
            shown, error = self._run(
                f"exec(compile({source!r}, 'check', 'exec'), dict({SAVED}[{check!r}]))"
            )
        if shown:
            return shown[-1]
        return {"passed": False, "problem": f"The grader's check showed no verdict ({error}).",
                "checks": []}  # fmt: skip

    def _run(self, code: str) -> tuple[list[dict], str]:
        """Execute code; (the verdicts it showed, the error it raised or "")."""
        shown: list[dict] = []
        errors: list[str] = []

        def hook(msg: dict) -> None:
            content = msg.get("content", {})
            if msg["msg_type"] == "display_data" and VERDICT in content.get("data", {}):
                shown.append(content["data"][VERDICT])
            elif msg["msg_type"] == "error":
                errors.append(f"{content.get('ename')}: {content.get('evalue')}")

        try:
            self._client.execute_interactive(
                code, timeout=self._seconds, output_hook=hook, store_history=False
            )
        except TimeoutError:
            self._manager.interrupt_kernel()
            _drain(self._client)
            errors.append(f"ran past {self._seconds:g} s")
        return shown, "; ".join(errors)

    def close(self) -> None:
        try:
            self._client.stop_channels()
            self._manager.shutdown_kernel(now=True)
        finally:
            self._folder.cleanup()


def _drain(client, seconds: float = 10) -> None:
    """Read what an interrupted cell still sends, up to its reply."""
    try:
        while True:
            client.get_shell_msg(timeout=seconds)
            break
    except queue.Empty:
        pass
    try:
        while True:
            client.get_iopub_msg(timeout=0.2)
    except queue.Empty:
        pass


class Judges:
    """A Judge per lesson, started when first needed; close() ends them all."""

    def __init__(self, known: dict, cell_seconds: float) -> None:
        self._known, self._seconds = known, cell_seconds
        self._judges: dict[str, Judge] = {}
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}

    def __call__(self, lesson: str) -> Judge:
        from .assignment import graded_notebook

        with self._lock:
            starting = self._starting.setdefault(lesson, threading.Lock())
        with starting:
            if lesson not in self._judges:
                solution = self._known[lesson]
                self._judges[lesson] = Judge(graded_notebook(solution, solution)[0], self._seconds)
            return self._judges[lesson]

    def close(self) -> None:
        for judge in self._judges.values():
            judge.close()
        self._judges.clear()

    def __enter__(self) -> Judges:
        return self

    def __exit__(self, *_) -> None:
        self.close()
