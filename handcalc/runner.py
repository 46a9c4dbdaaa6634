"""Run one notebook as a grader does: in a process and kernel of its own, within limits.

`run(notebook, folder, limits)` starts `python -m handcalc.runner IN OUT LIMITS`, which executes the
notebook with nbclient (allow_errors: a failing cell does not stop the rest) and writes back what
it kept. Limits: each cell is interrupted after `cell_seconds` and the run goes on; the whole run,
kernel and all, is killed after `notebook_seconds`; on Linux and macOS the memory of the runner
and its kernel is capped (RLIMIT_AS); each cell keeps at most `output_chars` of what it prints, and
figures and widgets, which no grader reads, are not kept at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __name__ == "__main__":  # jsonschema's optional IRI grammar takes 1.5 s to build; unused here
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import nbformat

from . import sandbox

GRADING_ENV = {"HANDCALC_GRADING": "1", "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
# One thread per notebook: the grader runs one notebook per core, and two math libraries that
# each spin a thread per core on a shared core slow each other down many times over.
GRADING_ENV |= {
    name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
}


@dataclass(frozen=True)
class Limits:
    notebook_seconds: float = 600.0
    cell_seconds: float = 120.0
    memory_bytes: int = 6 * 2**30
    output_chars: int = 100_000  # per cell
    processes: int = 256  # in the whole sandbox, where a cgroup can be made
    isolate: bool = True  # in a sandbox (handcalc.sandbox), where bubblewrap is available


@dataclass
class Run:
    """What came back. status: "finished", "timed out" (the whole notebook; the cells that had
    run keep their outputs), "kernel died" or "failed" (detail says why). timed_out: ids of
    cells interrupted at the cell limit; cut: {cell id: characters printed} where the output
    was cut."""

    notebook: nbformat.NotebookNode
    status: str
    timed_out: list[str] = field(default_factory=list)
    cut: dict[str, int] = field(default_factory=dict)
    detail: str = ""
    isolated: str = ""  # how: "sandbox", "sandbox, one limit for all" or "" (not isolated)
    running: str = ""  # the cell that was running when the notebook ran out of time


DEFAULT = Limits()
RECORD_BYTES = 256 * 2**20  # the largest run record the grader reads
RECORDED_CHARS = 64 * 2**20  # answers and verdicts kept of one notebook


def run(
    notebook: nbformat.NotebookNode,
    folder: Path,
    limits: Limits = DEFAULT,
    hidden: tuple[Path, ...] = (),
) -> Run:
    """Execute notebook with `folder` as its working directory; in a sandbox where one can be
    made (limits.isolate), with `hidden` folders out of its sight."""
    isolated = limits.isolate and sandbox.available()
    with tempfile.TemporaryDirectory(prefix="handcalc-run-") as tmp:
        given, back, log = Path(tmp, "in.ipynb"), Path(tmp, "out.json"), Path(tmp, "log.txt")
        nbformat.write(notebook, given)
        command = [sys.executable, "-m", "handcalc.runner", given, back, json.dumps(asdict(limits))]
        command = [str(part) for part in command]
        env = os.environ | GRADING_ENV
        group, how = None, ""
        if isolated:
            env |= {"IPYTHONDIR": tmp, "JUPYTER_RUNTIME_DIR": tmp, "MPLCONFIGDIR": tmp,
                    "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
            command = sandbox.command(command, [Path(tmp), folder], list(hidden), folder)
            group = sandbox.Group(limits.memory_bytes, limits.processes)
            command = [*(group.prefix() or []), *command]
            how = "sandbox, one limit for all" if group.prefix() else "sandbox"
        posix = os.name == "posix"
        try:
            with log.open("w") as errors:
                child = subprocess.Popen(
                    command,
                    cwd=folder,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=errors,
                    stderr=errors,
                    start_new_session=posix,
                )
                try:
                    child.wait(timeout=limits.notebook_seconds)
                except subprocess.TimeoutExpired:
                    # In a sandbox its own process ids mean nothing here: killing bwrap ends it.
                    _kill(child, None if isolated else Path(tmp, "kernel.pid"))
                    running = Path(tmp, "running.txt")
                    so_far = _kept(notebook, back, "timed out")
                    so_far.detail, so_far.isolated = f"{limits.notebook_seconds:g} s", how
                    so_far.running = running.read_text()[:100] if running.is_file() else ""
                    return so_far
        finally:
            if group is not None:
                group.close()
        if not back.exists():
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            detail = " / ".join(tail)[:300] or f"exit {child.returncode}"
            return Run(notebook, "failed", detail=detail, isolated=how)
        kept = _kept(notebook, back, None)
        kept.isolated = how
        if kept.status == "partial":  # the runner itself was stopped (out of memory?)
            kept.status, kept.detail = "failed", "the run stopped before the end (memory?)"
        return kept


def _kept(notebook: nbformat.NotebookNode, back: Path, status: str | None) -> Run:
    """The run's record, read as what it may be: it is written beside the learner's kernel,
    so only outputs of the cells that were given, and lists of their ids, are taken from it;
    the cells' sources are the given ones. A record too big to read, or not the runner's,
    is a failed run."""
    kept = nbformat.from_dict(notebook)
    failed = Run(kept, status or "failed", detail="the run left no readable record")
    try:
        if back.stat().st_size > RECORD_BYTES:
            failed.detail = f"the run's record is over {RECORD_BYTES // 2**20} MB"
            return failed
        data = json.loads(back.read_text())
        cells = {c.get("id"): c for c in data["notebook"]["cells"] if isinstance(c, dict)}
        for cell in kept.cells:
            outputs = cells.get(cell.id, {}).get("outputs")
            if cell.cell_type == "code" and isinstance(outputs, list):
                cell.outputs = [nbformat.from_dict(o) for o in outputs if isinstance(o, dict)]
        ids = {cell.id for cell in kept.cells}
        timed_out = [i for i in data.get("timed_out", []) if i in ids]
        cut = {i: int(n) for i, n in dict(data.get("cut", {})).items() if i in ids}
        statuses = ("finished", "kernel died", "failed", "partial")
        said = data.get("status") if data.get("status") in statuses else "failed"
        return Run(kept, status or said, timed_out, cut, str(data.get("detail", ""))[:300])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return failed


def _data(msg: dict) -> dict:
    return msg["content"].get("data", {}) if isinstance(msg.get("content"), dict) else {}


def _cap_memory(limit: int) -> None:
    """Cap this process's memory, and so its kernel's (where the system lets a process do so)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # Windows; macOS refuses to lower RLIMIT_AS
        pass


def _kill(child: subprocess.Popen, kernel_pid: Path | None) -> None:
    """Kill the runner's process group and the kernel's (a session of its own)."""
    groups = [child.pid]
    if kernel_pid is not None and kernel_pid.exists():
        groups.append(int(kernel_pid.read_text()))
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL) if os.name == "posix" else child.kill()
        except (ProcessLookupError, PermissionError):
            pass
    child.wait()


def _execute(given: Path, back: Path, limits: Limits) -> None:
    """In the runner process: execute, then write what was kept as JSON."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class Client(NotebookClient):
        def __init__(self, notebook: nbformat.NotebookNode) -> None:
            super().__init__(
                notebook,
                timeout=int(limits.cell_seconds),
                allow_errors=True,
                interrupt_on_timeout=True,
                kernel_name="python3",
                on_notebook_start=self._started,
                on_cell_execute=self._starting_cell,
                on_cell_executed=self._cell_done,
            )
            self.printed: dict[int, int] = {}
            self.recorded = 0
            self.timed_out: list[str] = []
            self.cut: dict[str, int] = {}

        def _started(self, **_) -> None:
            back.with_name("kernel.pid").write_text(str(self.km.provisioner.pid))

        def _starting_cell(self, cell, **_) -> None:
            back.with_name("running.txt").write_text(cell.id)

        def _cell_done(self, **_) -> None:
            """What ran so far, kept after every cell: if the notebook runs out of time, the
            checks that already passed still count."""
            _write(back, self.kept("partial", ""))

        def kept(self, status: str, detail: str) -> dict:
            return {"notebook": self.nb, "status": status, "timed_out": self.timed_out,
                    "cut": self.cut, "detail": detail}  # fmt: skip

        def output(self, outs, msg, display_id, cell_index):
            kind = msg["msg_type"]
            if kind in ("display_data", "update_display_data", "execute_result"):
                if not any(key.startswith("application/vnd.handcalc") for key in _data(msg)):
                    return None  # figures, widgets and values: not graded
            size = len(json.dumps(msg["content"]))
            verdict = any(k.startswith("application/vnd.handcalc") for k in _data(msg))
            if verdict:  # answers and verdicts are never cut, up to a bound for the notebook
                self.recorded += size
                if self.recorded > RECORDED_CHARS:
                    self.cut[self.nb.cells[cell_index].id] = self.recorded
                    return None
                return super().output(outs, msg, display_id, cell_index)
            self.printed[cell_index] = self.printed.get(cell_index, 0) + size
            if kind != "error" and self.printed[cell_index] > limits.output_chars:
                self.cut[self.nb.cells[cell_index].id] = self.printed[cell_index]
                return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_handle_timeout(self, timeout, cell=None):
            if cell is not None:
                self.timed_out.append(cell.id)
            return await super()._async_handle_timeout(timeout, cell)

    _cap_memory(limits.memory_bytes)
    notebook = nbformat.read(given, as_version=4)
    client, status, detail = Client(notebook), "finished", ""
    try:
        client.execute()
    except DeadKernelError as error:
        status, detail = "kernel died", str(error).splitlines()[0] if str(error) else ""
    except Exception as error:  # the notebook's outputs so far still go back
        status, detail = "failed", f"{type(error).__name__}: {error}".splitlines()[0]
    _write(back, client.kept(status, detail))


def _write(path: Path, kept: dict) -> None:
    """Replace path's JSON at once (a reader never sees half of it)."""
    part = path.with_suffix(".part")
    part.write_text(json.dumps(kept))
    part.replace(path)


if __name__ == "__main__":
    _execute(Path(sys.argv[1]), Path(sys.argv[2]), Limits(**json.loads(sys.argv[3])))
