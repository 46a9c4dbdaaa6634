"""A learner's own copies of the lessons: made on first start, never touched by a course update
(git pull included), new lessons added beside them, and what changed shown on request."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import nbformat

import course

ROOT = Path(__file__).resolve().parent.parent


def git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=folder, check=True, capture_output=True, text=True).stdout


def edit(path: Path, cell: int, source: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[cell].source = source
    nbformat.write(notebook, path)


def test_a_learners_copy_survives_a_course_update_that_changes_the_same_lesson(tmp_path) -> None:
    origin, learner = tmp_path / "origin", tmp_path / "learner"
    (origin / "lessons").mkdir(parents=True)
    for name in ("01_linear_relu.ipynb", "03_loss_backprop.ipynb"):
        shutil.copy(ROOT / "lessons" / name, origin / "lessons" / name)
    shutil.copy(ROOT / ".gitignore", origin / ".gitignore")
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "the course")
    git(tmp_path, "clone", "-q", str(origin), str(learner))

    said = course.sync(learner)  # the first start
    assert said == [
        f"copied {n} into my-lessons/" for n in ("01_linear_relu.ipynb", "03_loss_backprop.ipynb")
    ]
    mine = learner / "my-lessons" / "03_loss_backprop.ipynb"
    language = nbformat.read(mine, as_version=4).metadata.language_info
    assert language["version"] == platform.python_version()  # as the kernel will say
    assert course._cells(mine) == course._cells(origin / "lessons" / "03_loss_backprop.ipynb")
    edit(mine, 3, "my own notes and answers")
    assert git(learner, "status", "--porcelain") == ""  # git does not see the learner's work

    edit(origin / "lessons" / "03_loss_backprop.ipynb", 0, "# 03 · Loss and backprop, now clearer")
    shutil.copy(ROOT / "lessons" / "02_autoencoder_forward.ipynb", origin / "lessons")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "an update: lesson 03 changed, lesson 02 added")
    git(learner, "pull", "-q")  # no conflict: the learner's copy is not the course's file

    said = course.sync(learner)  # the next start
    assert "copied 02_autoencoder_forward.ipynb into my-lessons/" in said
    assert any(s.startswith("03_loss_backprop.ipynb: the course has changed it") for s in said)
    assert not any("01_linear_relu" in s for s in said)
    assert nbformat.read(mine, as_version=4).cells[3].source == "my own notes and answers"
    assert nbformat.read(mine, as_version=4).cells[0].source.startswith("# 03 · Loss and backprop")
    assert not nbformat.read(mine, as_version=4).cells[0].source.endswith("now clearer")

    diff = course.changes("03", learner)
    assert "+# 03 · Loss and backprop, now clearer" in diff and "--- cell 1 (markdown) ---" in diff
    assert "my own notes" not in diff  # the course's changes, not the learner's
    assert course.changes("01", learner) == "01_linear_relu.ipynb: no change since you copied it."
    assert course.changes("99", learner).startswith("No lesson '99'; the lessons are 01_")


# --- lesson 00's setup check, each failure simulated -------------------------------------------

SETUP_CELL = next(
    c.source
    for c in nbformat.read(ROOT / "lessons" / "00_start_here.ipynb", as_version=4).cells
    if "check_setup" in c.source
)


def said(**fakes) -> list[str]:
    from handcalc.setup_check import findings

    return [str(f) for f in findings(**fakes)]


def test_the_setup_check_says_all_is_well_in_the_courses_environment() -> None:
    lines = said()
    assert all(line.startswith("✔") for line in lines), lines
    assert [line.split()[1] for line in lines[1:]] == [
        "numpy", "torch", "matplotlib", "ipywidgets", "jupyterlab", "scikit-learn", "tqdm",
    ]  # fmt: skip


def test_a_missing_package_is_named_with_the_fix() -> None:
    import importlib.metadata

    def version(name: str) -> str:
        if name == "torch":
            raise importlib.metadata.PackageNotFoundError(name)
        return importlib.metadata.version(name)

    (line,) = [s for s in said(version=version) if "torch" in s]
    assert line == (
        "✘ torch is not installed in this Python. Fix: in the course's folder, run "
        "`python course.py setup`, then restart the kernel."
    )


def test_a_package_that_does_not_load_is_named_with_why() -> None:
    def load(module: str) -> object:
        if module == "torch":
            raise OSError("libtorch_cpu.so: cannot open shared object file")
        return object()

    (line,) = [s for s in said(load=load) if "torch" in s]
    assert line.startswith("✘ torch 2.13.0") and "does not load (OSError: libtorch_cpu.so" in line
    assert line.endswith("run `python course.py setup`, then restart the kernel.")


def test_a_version_other_than_the_tested_one_is_a_warning_with_the_tested_version() -> None:
    import importlib.metadata

    def version(name: str) -> str:
        return "3.5.0" if name == "matplotlib" else importlib.metadata.version(name)

    (line,) = [s for s in said(version=version) if "matplotlib" in s]
    tested = course_lock()["matplotlib"]
    assert line == (
        f"⚠ matplotlib 3.5.0; the course is tested with {tested}. If a lesson misbehaves: in the "
        "course's folder, run `python course.py setup`, then restart the kernel."
    )


def course_lock() -> dict[str, str]:
    from handcalc.setup_check import tested_versions

    return tested_versions()


def test_a_kernel_outside_the_courses_environment_is_told_so(tmp_path) -> None:
    """A Python without the course: lesson 00's cell says so, with the fix, and raises nothing."""
    import sys

    bare = [sys._base_executable, "-I", "-S", "-c", SETUP_CELL]  # no site-packages at all
    done = subprocess.run(bare, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("✘ This notebook's Python cannot load the course (")
    assert "python course.py lab" in done.stdout and "Change Kernel" in done.stdout
    other = said(prefix=str(tmp_path))  # handcalc found, but another environment than .venv/
    if (ROOT / ".venv").exists():
        assert other[-1].startswith(f"⚠ This notebook runs in {tmp_path}, not in the course's")


def test_where_widgets_cannot_show_their_text_says_how_to_fix_it() -> None:
    from handcalc.setup_check import widget_probe

    bundle = widget_probe()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # shown where widgets work
    text = bundle["text/plain"]  # what JupyterLab shows where they do not
    assert "widgets do not show in this JupyterLab" in text
    assert "python course.py lab" in text and "pip install jupyterlab_widgets" in text


def test_the_course_lab_and_the_browser_tests_start_kernels_alike() -> None:
    """Both point PYTHONSTARTUP at handcalc/startup.py (a NameError says to run the cells
    above), and both save notebooks through the same hook."""
    from tools import lab

    assert course.STARTUP == Path(lab.STARTUP) and course.STARTUP.is_file()
    assert course.SAVE_HOOK.endswith("=" + lab.SAVE_HOOK)


def test_a_name_error_note_says_what_to_run() -> None:
    from handcalc.startup import name_error_note

    first, later = (name_error_note(n, first_cell=f) for n, f in (("MatrixEntry", 1), ("W_1", 0)))
    assert max(len(line) for line in (first + "\n" + later).splitlines()) <= 88
    first, later = " ".join(first.split()), " ".join(later.split())
    assert first.startswith("No cell has run since the kernel started")
    assert "Run All Above Selected Cell" in first and "spelling" not in first
    assert later.startswith("Nothing called W_1 exists") and "spelling" in later
