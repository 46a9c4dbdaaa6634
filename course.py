"""Set up, open and test the course with Python alone (Windows, macOS, Linux; no make needed).

    python course.py lab              # set up (once), copy the lessons to my-lessons/, open them
    python course.py test             # set up (once), then run every check: lint, format, tests
                                      # (the browser tests beside the rest, and the lessons'
                                      # claims again under torch's portable kernels,
                                      # ATEN_CPU_CAPABILITY=default: another CPU)
    python course.py changes [03]     # what the course changed in a lesson since you copied it
    python course.py setup            # only set up: .venv/ with the versions in constraints.txt
    python course.py lock             # maintainers: write constraints.txt from .venv/

Everything goes into .venv/ in this folder. Your own copies of the lessons live in my-lessons/,
which git does not track: updating the course (git pull) never touches them, and a lesson that
an update adds is copied in beside them the next time you start.
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036 (a learner may run an older Python)
    sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")

import argparse
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "constraints.txt"
MINE = ROOT / "my-lessons"
ORIGINALS = MINE / ".as-handed-out"  # each lesson as it was when it was copied
TORCH = "torch==2.13.0"
# The pip that resolves constraints.txt (Python 3.11's own pip 23.2 backtracks and gives up).
PIP = "pip==26.3"
# PyTorch's CPU-only wheels: on Linux, PyPI's torch pulls gigabytes of CUDA packages.
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
TORCH_INDEX = os.environ.get("TORCH_INDEX", "https://download.pytorch.org/whl/cpu")
SAVE_HOOK = "--ContentsManager.pre_save_hook=handcalc.saving.drop_widget_views"
# Run by each kernel at start: a NameError says to run the cells above (after a restart).
STARTUP = ROOT / "handcalc" / "startup.py"
NBGRADER_PARTS = ("formgrader", "validate_assignment", "assignment_list", "course_list")


def python() -> Path:
    """The virtual environment's interpreter."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*command: object, quiet: bool = False, **options) -> None:
    """Run a command; stop with its exit status if it fails (quiet: show its output only then)."""
    print("+", " ".join(str(c) for c in command), flush=True)
    done = subprocess.run([str(c) for c in command], capture_output=quiet, text=True, **options)
    if done.returncode:
        print(done.stdout or "", done.stderr or "", sep="\n" if quiet else "")
        sys.exit(done.returncode)


def setup(pinned: bool = True) -> None:
    """Create .venv/ and install the course into it, unless it is already up to date."""
    stamp = VENV / ".installed"
    wanted = hashlib.sha256(
        b"".join(p.read_bytes() for p in (ROOT / "pyproject.toml", LOCK)) + bytes([pinned])
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and python().exists():
        return
    if not python().exists():
        print(f"Creating {VENV} (once; the install takes a few minutes)", flush=True)
        venv.create(VENV, with_pip=True)
    pip = [python(), "-m", "pip", "install", "--disable-pip-version-check"]
    lock = ["-c", LOCK] if pinned else []
    run(*pip, PIP, quiet=True)
    run(*pip, "--no-deps", "--extra-index-url", TORCH_INDEX, TORCH)
    run(*pip, *lock, "-e", f"{ROOT}[course,dev]")
    # nbgrader (a dev dependency, for the grading tests) adds JupyterLab menus learners do not
    # need: off (README, "Grading a class", turns them back on).
    jupyter = [python(), "-m", "jupyter"]
    run(*jupyter, "labextension", "disable", "--level=sys_prefix", "@jupyter/nbgrader", quiet=True)
    for part in NBGRADER_PARTS:
        extension = f"nbgrader.server_extensions.{part}"
        run(*jupyter, "server", "extension", "disable", "--sys-prefix", extension, quiet=True)
    stamp.write_text(wanted)


def lesson_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.ipynb"))


def sync(root: Path = ROOT) -> list[str]:
    """Copy every lesson that my-lessons/ does not have yet; never touch one that it has.
    Returns what it says to the learner."""
    mine, originals, said = root / MINE.name, root / ORIGINALS.relative_to(ROOT), []
    originals.mkdir(parents=True, exist_ok=True)
    language = None
    for name in lesson_names(root / "lessons"):
        course = root / "lessons" / name
        if not (mine / name).exists():
            language = language or kernel_language()
            copy = handed_out(course, language)
            (mine / name).write_text(copy, encoding="utf-8")
            (originals / name).write_text(copy, encoding="utf-8")
            said.append(f"copied {name} into {mine.name}/")
        elif (originals / name).exists() and _cells(originals / name) != _cells(course):
            lesson = name.split("_")[0]
            said.append(
                f"{name}: the course has changed it since you copied it; your copy is as you "
                f"left it. To see what changed: python course.py changes {lesson}"
            )
    return said


def kernel_language() -> dict | None:
    """What the course's kernel says about its language (Python's version and so on), or None
    if it cannot say. JupyterLab writes this into every notebook it opens: a lesson that holds
    it already does not open as "changed" (a dot on its tab, a question when it is closed)."""
    ask = (
        "import json; from ipykernel.ipkernel import IPythonKernel as K; "
        "print(json.dumps(K.language_info))"
    )
    done = subprocess.run([python(), "-c", ask], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else None


def handed_out(lesson: Path, language: dict | None) -> str:
    """The lesson as copied for a learner: as it is, with the kernel's language_info."""
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    if language:
        notebook["metadata"]["language_info"] = language
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _cells(path: Path) -> list[tuple[str, str]]:
    """(cell type, source) of each cell: what a learner would call the lesson's content."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in notebook["cells"]]


def changes(lesson: str, root: Path = ROOT) -> str:
    """What the course changed in a lesson since it was copied into my-lessons/, as a diff of
    its cells (the lesson as handed out then -> the course's lesson now)."""
    names = [n for n in lesson_names(root / "lessons") if n.split("_")[0] == lesson or n == lesson]
    if not names:
        return f"No lesson {lesson!r}; the lessons are {', '.join(lesson_names(root / 'lessons'))}."
    name = names[0]
    then = root / ORIGINALS.relative_to(ROOT) / name
    if not then.exists():
        return f"{name} is not in {MINE.name}/ yet: python course.py lab copies it."
    before, after = (_text(_cells(p)) for p in (then, root / "lessons" / name))
    diff = difflib.unified_diff(before, after, f"{name} when you copied it", f"{name} now", n=2)
    return "".join(diff) or f"{name}: no change since you copied it."


def _text(cells: list[tuple[str, str]]) -> list[str]:
    lines = []
    for number, (kind, source) in enumerate(cells, start=1):
        lines.append(f"--- cell {number} ({kind}) ---\n")
        lines += [line + "\n" for line in source.splitlines()]
    return lines


def lock() -> None:
    """Write constraints.txt with uv: one resolution of pyproject.toml's packages for every
    Python from 3.11 and every system, each pin marked with where it applies."""
    pin = VENV / "torch-pin.txt"
    pin.write_text(TORCH + "\n")
    header = (
        "# The exact versions the course is tested with (tests run on Python 3.11, Linux; a pin\n"
        "# marked for another Python or system is uv's choice for it). course.py setup installs\n"
        "# with these. Refresh: python course.py lock (then run the tests).\n"
    )
    compiled = subprocess.run(
        [python(), "-m", "uv", "pip", "compile", ROOT / "pyproject.toml", "--all-extras",
         "--universal", "--python-version", "3.11", "-c", pin, "--no-header", "--quiet"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    LOCK.write_text(header + compiled)
    print(f"wrote {LOCK.name}: {compiled.count('==')} pins")


BROWSER = "tests/test_browser.py"


def beside(what: str, args: list[str], env: dict[str, str], nice: int) -> tuple:
    """Start `pytest args` in the background, beside the main run (at a lower priority by
    `nice`), logging to a file; returns (what, the process, its folder)."""
    out = Path(tempfile.mkdtemp(prefix="course-beside-"))
    command = [python(), "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
               "--basetemp", out / "tmp"]  # fmt: skip
    print(f"+ (beside it: {what})", " ".join(map(str, command)))
    lower = (lambda: os.nice(nice)) if nice and hasattr(os, "nice") else None
    with (out / "log.txt").open("w") as log:
        started = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=lower)  # fmt: skip
    return what, started, out


def finish(what: str, started: subprocess.Popen, out: Path) -> None:
    """Wait for a run started beside the main one, show what it printed, and stop with its
    status if it failed."""
    code = started.wait()
    print(f"+ {what}:", flush=True)
    print((out / "log.txt").read_text(), flush=True)
    shutil.rmtree(out, ignore_errors=True)
    if code:
        sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("setup", "lab", "test"):
        command = commands.add_parser(name)
        command.add_argument(
            "--unpinned", action="store_true",
            help="install the newest versions pyproject.toml allows, not constraints.txt's",
        )  # fmt: skip
    commands.add_parser("changes").add_argument("lesson", nargs="?")
    commands.add_parser("lock")
    args, extra = parser.parse_known_args(argv)
    if args.command == "changes":
        if args.lesson:
            print(changes(args.lesson))
        else:
            said = [changes(n.split("_")[0]) for n in lesson_names(MINE)]
            changed = [text for text in said if text.startswith("---")]
            print("\n".join(changed) or "No lesson has changed since you copied it.")
        return 0
    if args.command == "lock":
        lock()
        return 0
    setup(pinned=not args.unpinned)
    if args.command == "test":
        # One math thread per process: the claims run beside the main one, whose kernels and
        # browsers run beside it too, and two threads each on two cores made torch spin (lesson
        # 05 took 250 s in the browser test instead of 25 s; alone it is as fast on one thread).
        os.environ.update(dict.fromkeys(THREADS, "1"))
        run(python(), "-m", "ruff", "check", ".", cwd=ROOT)
        run(python(), "-m", "ruff", "format", "--check", ".", cwd=ROOT)
        # Beside the main run: the browser tests (they wait on JupyterLab and Chromium much of
        # the time), and the tests of the lessons' claims once more under torch's portable
        # kernels (ATEN_CPU_CAPABILITY=default: another CPU's arithmetic), at a lower priority.
        others = [] if extra else [
            beside("the browser tests", [BROWSER], {}, nice=0),
            beside("the claims under ATEN_CPU_CAPABILITY=default", ["-m", "claims", "tests"],
                   {"ATEN_CPU_CAPABILITY": "default"}, nice=10),
        ]  # fmt: skip
        try:
            run(python(), "-m", "pytest", *(extra or ["--ignore", BROWSER]), cwd=ROOT)
        except SystemExit:
            for _, started, _ in others:
                started.kill()
            raise
        for other in others:
            finish(*other)
    elif args.command == "lab":
        MINE.mkdir(exist_ok=True)
        for line in sync():
            print(line)
        root = ["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []
        os.environ.setdefault("PYTHONSTARTUP", str(STARTUP))  # a learner's own one wins
        run(python(), "-m", "jupyterlab", *root, SAVE_HOOK, *extra, MINE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
