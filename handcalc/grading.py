"""Grade a class: a folder of submitted lessons in, a gradebook and a feedback page per learner out.

    handcalc-grade SUBMISSIONS --out gradebook.csv

SUBMISSIONS holds one folder per learner (as most learning platforms download them) or the
learners' notebooks side by side (alice_03_loss_backprop.ipynb). Each notebook is graded with the
course's own check cells (handcalc.assignment: only the learner's answer cells are taken from it),
in a sandboxed kernel of its own, within time and memory limits (handcalc.runner), several at a
time. That kernel only records the answers (handcalc.recording); the verdicts are decided in
the grader's own kernel for the lesson (handcalc.judge), on the lesson's problem and then on one
drawn for the learner (own_seed).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .assignment import OWN, Exercise, add_own_problems, exercises, graded_notebook
from .checks import RIGHT, WRONG
from .exercise import NOT_DONE, VERDICT
from .judge import Judge, JudgeFailed, Judges
from .recording import ANSWER
from .runner import DEFAULT, Limits, Run, run

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
SKIPPED = {".ipynb_checkpoints", "__MACOSX"}


UNKNOWN = (
    "Which lesson this is could not be told: name the file after its lesson "
    "(03_loss_backprop.ipynb) or pass --lesson."
)
TOO_LONG = "The check was stopped: it ran too long (an endless loop?)."
NOT_RUN_AT_ALL = ("not a notebook", "unknown lesson")
MIN_MEMORY_GIB = 1.0
NOT_ISOLATED = (
    "handcalc-grade: WARNING: the notebooks ran without a sandbox (bubblewrap is not available "
    "on this system), as you, with your files in reach: see the README, 'Grading a class'. "
    "The gradebook's 'isolated' column says 'no'."
)
NOT_RUN = "The check did not run (the notebook stopped before it)."


class Fail(Exception):
    """A mistake in how the grader was called: one line for the instructor, exit status 2."""


@dataclass(frozen=True)
class Submission:
    """A submitted notebook; by_file: the learner is named by the file, not by a folder."""

    learner: str
    path: Path
    by_file: bool = False


@dataclass
class Outcome:
    """One exercise of one learner. result: passed, wrong, error, not done, timed out, not run.
    checks: (right?, message) for each check the cell showed; notes: what the grader noticed."""

    exercise: Exercise
    result: str
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> int:
        return self.exercise.points if self.result == "passed" else 0


@dataclass
class Graded:
    """One submitted notebook. status: graded, graded (output cut), timed out, kernel died,
    failed, not a notebook, unknown lesson, no notebook (a learner's folder without one)."""

    submission: Submission
    lesson: str | None
    status: str
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolated: str = ""  # the sandbox it ran in (handcalc.runner.Run.isolated); "": none

    @property
    def points(self) -> int:
        return sum(o.points for o in self.outcomes)

    @property
    def max_points(self) -> int:
        return sum(o.exercise.points for o in self.outcomes)


def lessons(solutions: Path) -> dict[str, nbformat.NotebookNode]:
    """{lesson name: solution notebook} for the lessons that have exercises."""
    found = {}
    for path in sorted(solutions.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if exercises(notebook):
            found[path.stem] = notebook
    return found


def find_submissions(folder: Path) -> list[Submission]:
    """Every notebook in the folder: a learner's folder (all notebooks in it, at any depth), or a
    notebook on its own, the learner named by the file."""
    if not folder.is_dir():
        raise Fail(f"{folder} is not a folder of submitted notebooks.")
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name in SKIPPED or entry.name.startswith("."):
            continue
        if entry.is_dir():
            notebooks = [p for p in sorted(entry.rglob("*.ipynb")) if not SKIPPED & set(p.parts)]
            found += [Submission(entry.name, path) for path in notebooks]
            if not notebooks:  # handed in something else, or nothing: still a row
                found.append(Submission(entry.name, entry))
        elif entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, by_file=True))
    if not found:
        raise Fail(f"no notebooks (.ipynb) in {folder}.")
    return found


def lesson_of(path: Path, notebook: nbformat.NotebookNode, known: dict) -> str | None:
    """Which lesson a notebook is: its metadata, then its file name, then its first heading."""
    named = notebook.metadata.get("handcalc", {}).get("lesson")
    if named in known:
        return named
    for lesson in known:
        if lesson in path.name:
            return lesson
    heading = _heading(notebook)
    for lesson, solution in known.items():
        if heading and heading == _heading(solution):
            return lesson
    return None


def _heading(notebook: nbformat.NotebookNode) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0]
    return ""


def learner_name(submission: Submission, known: dict) -> str:
    """A learner's folder is their name; a notebook on its own is named by the part of its file
    name before a lesson's name or number: alice_03_loss_backprop -> alice (never the lesson's
    own name: a file named only after a lesson is "unnamed")."""
    if not submission.by_file:
        return submission.learner
    stem = submission.learner
    cuts = [stem.find(lesson) for lesson in known if lesson in stem]
    number = re.search(r"(?:^|[ _.-])\d\d(?:[ _.-]|$)", stem)
    cuts += [number.start()] if number else []
    name = stem[: min(cuts)].strip(" _-.") if cuts else stem
    return name or "unnamed"


def grade(
    submission: Submission,
    known: dict,
    limits: Limits,
    lesson: str | None = None,
    hidden: tuple[Path, ...] = (),
    judges: Judges | None = None,
) -> Graded:
    """Grade one notebook (never raises for anything the notebook holds): its answers are
    recorded in a sandboxed kernel and judged in the grader's own (handcalc.judge); judges:
    the class's, else this call starts and ends its own."""
    if judges is None:
        with Judges(known, limits.cell_seconds) as own:
            return grade(submission, known, limits, lesson, hidden, own)
    named = Submission(learner_name(submission, known), submission.path, submission.by_file)
    if submission.path.is_dir():
        files = sorted(p.name for p in submission.path.rglob("*") if p.is_file())[:5]
        held = f"it holds {', '.join(files)}" if files else "it is empty"
        return Graded(
            named, None, "no notebook", notes=[f"No notebook (.ipynb) in the folder: {held}."]
        )
    try:
        notebook = nbformat.read(submission.path, as_version=4)
    except Exception as error:  # not JSON, not a notebook, unreadable
        why = _short(f"{type(error).__name__}: {error}".splitlines()[0], 200)
        lesson = lesson or next((name for name in known if name in submission.path.name), None)
        return Graded(named, lesson, "not a notebook", notes=[f"Could not read it ({why})."])
    found = lesson_of(submission.path, notebook, known)
    notes = []
    if lesson and found and found != lesson:
        notes.append(f"Graded as {lesson} (--lesson), but the notebook says it is {found}.")
    lesson = lesson or found
    if lesson is None:
        return Graded(named, None, "unknown lesson", notes=[UNKNOWN])
    solution = known[lesson]
    graded, noticed = graded_notebook(solution, notebook)
    own = add_own_problems(graded, own_seed(named.learner, lesson, graded, solution))
    with tempfile.TemporaryDirectory(prefix="handcalc-grade-") as folder:
        ran = run(graded, Path(folder), limits, hidden)
    result = _read(named, lesson, solution, ran, noticed, limits, judges(lesson), own)
    result.isolated, result.notes = ran.isolated, notes + result.notes
    return result


def own_seed(
    learner: str, lesson: str, graded: nbformat.NotebookNode, solution: nbformat.NotebookNode
) -> int:
    """The seed of a learner's own problems, from their name, the lesson and their answer
    cells: the same notebook always gets the same problems, and answers typed in for one
    problem are checked on another."""
    answers = {a for e in exercises(solution) for a in e.answers}
    sources = [cell.source for cell in graded.cells if cell.get("id") in answers]
    digest = hashlib.sha256("\n\0".join([learner, lesson, *sources]).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10**12


def _read(submission, lesson, solution, ran: Run, notes, limits, judge: Judge, own) -> Graded:
    cells = {cell.id: cell for cell in ran.notebook.cells}
    sources = {cell.id: cell.source for cell in solution.cells}
    outcomes = []
    for exercise in exercises(solution):
        said = list(notes.get(exercise.name, []))
        for answer in exercise.answers:
            errors = [e for e in _errors(cells[answer]) if not e.startswith("SyntaxError")]
            said += [f"Your answer cell raised {e}." for e in errors]
        check = cells[exercise.check]
        source = sources[exercise.check]  # the course's, never what came back from the run
        outcome = _outcome(exercise, check, source, exercise.check in ran.timed_out, judge)
        if outcome.result == "passed" and exercise.check in own:
            _on_own_problem(outcome, cells, own[exercise.check], ran, judge)
        outcome.notes = said + outcome.notes
        outcomes.append(outcome)
    overall = _stopped_cells(ran, outcomes, limits)
    status = {
        "finished": "graded",
        "timed out": "timed out",
        "kernel died": "kernel died",
    }.get(ran.status, "failed")
    if ran.status == "timed out":
        overall.append(_ran_out(ran, outcomes, limits))
    elif ran.status == "kernel died":
        overall.append("Python stopped while running the notebook (too much memory?).")
    elif ran.status != "finished":
        overall.append(f"The grader could not run the notebook ({ran.detail}).")
    if ran.cut:
        status = "graded (output cut)" if status == "graded" else status
        most = max(ran.cut.values())
        overall.append(
            f"Your code printed {most / 1e6:.1f} MB in one cell; the grader kept the first "
            f"{limits.output_chars // 1000} kB."
        )
    return Graded(submission, lesson, status, outcomes, overall)


def _on_own_problem(outcome: Outcome, cells: dict, own, ran: Run, judge: Judge) -> None:
    """An answer right on the lesson's problem is checked again on the learner's own (drawn
    from own_seed), where typed-in numbers no longer fit; what that check says is added."""
    source, problem = own
    copy = outcome.exercise.check + OWN
    blank = nbformat.v4.new_code_cell()
    second = _outcome(outcome.exercise, cells.get(copy, blank), source, copy in ran.timed_out,
                      judge)  # fmt: skip
    said = f"On your own problem, {problem}:"
    outcome.checks += [(right, f"{said} {message}") for right, message in second.checks]
    if second.result != "passed":
        outcome.result = second.result
        outcome.notes += [f"{said} {note}" for note in second.notes]


def _ran_out(ran: Run, outcomes: list[Outcome], limits: Limits) -> str:
    """The notebook ran out of time: the checks that had passed keep their points; the exercise
    that was running is named and marked timed out."""
    said = f"The notebook did not finish within {limits.notebook_seconds:g} s"
    for outcome in outcomes:
        if ran.running in (*outcome.exercise.answers, outcome.exercise.check,
                           outcome.exercise.check + OWN):  # fmt: skip
            outcome.result = "timed out"
            outcome.notes.append("This exercise was running when the notebook's time ran out.")
            return f"{said}: it was running {', '.join(outcome.exercise.functions)}."
    return f"{said}; the checks that had passed before keep their points."


def _stopped_cells(ran: Run, outcomes: list[Outcome], limits: Limits) -> list[str]:
    """What the cell time limit stopped, said as that: an answer cell that ran too long fails
    its own exercise; a cell of the lesson's own (a setup cell) that ran too long leaves the
    checks after it unrun, which is the limit's doing, not a mistake of the learner's (their
    NameErrors follow from it)."""
    order = [cell.id for cell in ran.notebook.cells]
    checks = {o.exercise.check + end for o in outcomes for end in ("", OWN)}
    said = []
    for stopped in [cell for cell in order if cell in ran.timed_out and cell not in checks]:
        limit = f"the cell time limit ({limits.cell_seconds:g} s)"
        owner = [o for o in outcomes if stopped in o.exercise.answers]
        if owner:
            owner[0].result = "timed out"
            owner[0].notes.append(f"Your answer cell ran past {limit} and was stopped.")
            continue
        number = order.index(stopped) + 1
        first = ran.notebook.cells[number - 1].source.strip().splitlines()[:1] or [""]
        why = (
            f"Cell {number} of the lesson ({first[0][:60]!r}) ran past {limit} and was "
            "stopped, so the checks after it could not run: the grader's limit, not a mistake "
            "in the answers. Grade again with a larger --cell-timeout."
        )
        said.append(why)
        for outcome in outcomes:
            after = order.index(outcome.exercise.check) > order.index(stopped)
            if after and outcome.result != "passed":
                outcome.result, outcome.checks, outcome.notes = "not run", [], [why]
    return said


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    outputs = cell.get("outputs", [])
    return [_short(f"{o.ename}: {o.evalue}") for o in outputs if o.output_type == "error"]


def _short(text: str, limit: int = 600) -> str:
    """A message as a page shows it: at most `limit` characters, and says what it left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} ... ({len(text) - limit:,} more characters not shown)"


def _outcome(
    exercise: Exercise, cell: nbformat.NotebookNode, source: str, timed_out: bool, judge: Judge
) -> Outcome:
    """What the learner's run of a check cell says (timed out, not done, raised, not run); if
    it ran, the verdict of the grader's own kernel on the answers it recorded."""
    outputs = cell.get("outputs", [])
    said = [o.data[VERDICT] for o in outputs if VERDICT in o.get("data", {})]
    answers = {
        o.data[ANSWER].get("key"): o.data[ANSWER].get("value")
        for o in outputs
        if isinstance(o.get("data", {}).get(ANSWER), dict)
    }
    errors = [o for o in outputs if o.output_type == "error"]
    if timed_out or any(e.ename == "KeyboardInterrupt" for e in errors):
        return Outcome(exercise, "timed out", notes=[TOO_LONG])
    problem = said[-1].get("problem") if said and isinstance(said[-1], dict) else None
    if problem == NOT_DONE:
        return Outcome(exercise, "not done", notes=[NOT_DONE])
    if problem:
        return Outcome(exercise, "error", notes=[_short(str(problem))])
    if errors:
        return Outcome(exercise, "error", notes=[_short(f"{e.ename}: {e.evalue}") for e in errors])
    if not said and not answers:
        return Outcome(exercise, "not run", notes=[NOT_RUN])
    answers = {key: value for key, value in answers.items() if isinstance(key, str)}
    verdict = judge.verdict(exercise.check, source, answers)
    checks = [(bool(c["correct"]), _short(str(c["message"]), 2000)) for c in verdict["checks"]]
    if verdict["passed"] is True:
        return Outcome(exercise, "passed", checks)
    if verdict["problem"]:
        return Outcome(exercise, "error", checks, [_short(str(verdict["problem"]))])
    return Outcome(exercise, "wrong", checks)


def grade_class(
    submissions: list[Submission],
    known: dict,
    limits: Limits = DEFAULT,
    jobs: int | None = None,
    lesson: str | None = None,
    progress: bool = True,
    hidden: tuple[Path, ...] = (),
) -> list[Graded]:
    """Grade every submission, `jobs` at a time (default: one per core), in the input's order."""
    from tqdm import tqdm

    if not jobs:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    results: dict[int, Graded] = {}
    with Judges(known, limits.cell_seconds) as judges, ThreadPoolExecutor(jobs) as pool:
        futures = {
            pool.submit(grade, s, known, limits, lesson, hidden, judges): i
            for i, s in enumerate(submissions)
        }
        bar = tqdm(total=len(futures), unit="notebook", desc="Grading", disable=not progress)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
        bar.close()
    return _newest_only([results[i] for i in range(len(submissions))])


def _newest_only(graded: list[Graded]) -> list[Graded]:
    """One row per learner and lesson: of several notebooks, the newest file counts, and its
    page names the others."""
    groups: dict[tuple[str, str], list[Graded]] = {}
    for g in graded:
        if g.lesson is not None:
            groups.setdefault((g.submission.learner, g.lesson), []).append(g)
    dropped = set()
    for same in groups.values():
        if len(same) > 1:
            same.sort(key=lambda g: (g.submission.path.stat().st_mtime, str(g.submission.path)))
            others = ", ".join(str(g.submission.path) for g in same[:-1])
            same[-1].notes.append(
                f"Also handed in for this lesson: {others}; the newest is graded."
            )
            dropped.update(id(g) for g in same[:-1])
    return [g for g in graded if id(g) not in dropped]


def columns(graded: list[Graded], known: dict) -> list[tuple[str, Exercise]]:
    """(lesson, exercise) for every exercise of the lessons in the gradebook, in course order."""
    present = sorted({g.lesson for g in graded if g.lesson})
    return [(lesson, e) for lesson in present for e in exercises(known[lesson])]


def write_gradebook(graded: list[Graded], known: dict, path: Path) -> None:
    """One row per learner and lesson; per exercise, the points earned (blank: not this lesson)."""
    wanted = columns(graded, known)
    head = ["learner", "lesson", "status", "points", "max_points"]
    head += [f"{lesson[:2]} {e.name}" for lesson, e in wanted] + ["notebook", "isolated"]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(head)
        for g in sorted(graded, key=lambda g: (g.submission.learner, g.lesson or "")):
            earned = {(g.lesson, o.exercise.name): o.points for o in g.outcomes}
            row = [g.submission.learner, g.lesson or "", g.status, g.points, g.max_points]
            row += [earned.get((lesson, e.name), "") for lesson, e in wanted]
            ran = "yes" if g.isolated else ("no" if g.status not in NOT_RUN_AT_ALL else "")
            writer.writerow([*row, str(g.submission.path), ran])


MARK = {True: (RIGHT[0], "right", RIGHT[1]), False: (WRONG[0], "wrong", WRONG[1])}
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;line-height:1.5}}
li{{margin:.3rem 0}} .note{{color:#333;font-style:italic}}
.sr{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}}</style></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


def feedback_page(learner: str, graded: list[Graded]) -> str:
    """The learner's feedback: each lesson's score, each exercise's verdict and the checks'
    messages, the same words the learner sees in the notebook."""
    parts = []
    for g in sorted(graded, key=lambda g: g.lesson or ""):
        lesson = html.escape(g.lesson or g.submission.path.name)
        score = f"{g.points} of {g.max_points} points" if g.lesson else g.status
        parts.append(f"<h2>{lesson}: {score}</h2>")
        if g.status != "graded":
            parts.append(f"<p><strong>Status: {html.escape(g.status)}.</strong></p>")
        parts += [f"<p class='note'>{html.escape(n)}</p>" for n in g.notes]
        for o in g.outcomes:
            symbol, _, colour = MARK[o.result == "passed"]
            title = html.escape(", ".join(o.exercise.functions) or o.exercise.name)
            items = []
            for right, message in o.checks:
                s, w, c = MARK[right]
                items.append(
                    f"<li><span style='color:{c}' aria-hidden='true'>{s}</span> "
                    f"<span class='sr'>({w})</span> {html.escape(message)}</li>"
                )
            items += [f"<li class='note'>{html.escape(n)}</li>" for n in o.notes]
            parts.append(
                f"<h3><span style='color:{colour}' aria-hidden='true'>{symbol}</span> {title}: "
                f"{html.escape(o.result)} ({o.points} of {o.exercise.points})</h3>"
                f"<ul>{''.join(items)}</ul>"
            )
    return PAGE.format(title=f"Feedback for {html.escape(learner)}", body="\n".join(parts))


def page_name(learner: str) -> str:
    """A file name for a learner's page that no other learner's can take: letters, digits and
    _.- kept; where anything else was replaced, a short hash of the whole name is added."""
    plain = re.sub(r"[^A-Za-z0-9_.-]+", "_", learner).strip(".") or "_"
    if plain == learner:
        return plain
    return f"{plain}-{hashlib.sha256(learner.encode()).hexdigest()[:8]}"


def write_feedback(graded: list[Graded], folder: Path) -> list[Path]:
    """One page per learner, folder/<learner>.html."""
    folder.mkdir(parents=True, exist_ok=True)
    by_learner: dict[str, list[Graded]] = {}
    for g in graded:
        by_learner.setdefault(g.submission.learner, []).append(g)
    written = []
    for learner, theirs in sorted(by_learner.items()):
        path = folder / f"{page_name(learner)}.html"
        path.write_text(feedback_page(learner, theirs), encoding="utf-8")
        written.append(path)
    return written


def _writable(path: Path) -> None:
    """Refuse, before grading, an --out that cannot be written (trying is the only sure test)."""
    if path.is_dir():
        raise Fail(f"{path} is a folder; --out wants a file name such as gradebook.csv.")
    if not path.parent.is_dir():
        raise Fail(f"cannot write {path}: the folder {path.parent} does not exist.")
    existed = path.exists()
    try:
        with path.open("a"):
            pass
    except PermissionError:
        raise Fail(f"cannot write {path}: no permission to write there.") from None
    except OSError as error:
        raise Fail(f"cannot write {path}: {error.strerror or error}.") from None
    if not existed:
        path.unlink()


def _options(args: argparse.Namespace) -> None:
    """Refuse, before any grading, the numbers no grading can use."""
    if args.jobs is not None and args.jobs < 1:
        raise Fail(f"--jobs {args.jobs}: grade at least 1 notebook at a time.")
    for name, value in (("--timeout", args.timeout), ("--cell-timeout", args.cell_timeout)):
        if not value > 0:
            raise Fail(f"{name} {value:g}: give a time limit in seconds, above 0.")
    if not args.memory >= MIN_MEMORY_GIB:
        raise Fail(
            f"--memory {args.memory:g}: a notebook's Python with numpy needs at least "
            f"{MIN_MEMORY_GIB:g} GiB (6 is the default; lessons that train use 2 or more)."
        )


def _writable_folder(folder: Path) -> None:
    """Refuse a feedback folder that cannot be made or written, before any grading."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".handcalc-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise Fail(
            f"cannot write feedback pages into {folder}: {error.strerror or error}."
        ) from None


def _lesson_named(name: str, known: dict) -> str:
    matches = [lesson for lesson in known if lesson == name or lesson.split("_")[0] == name]
    if len(matches) != 1:
        raise Fail(f"unknown lesson {name!r}; the lessons with exercises are {', '.join(known)}.")
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handcalc-grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="a folder of submitted notebooks")
    parser.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="the gradebook")
    parser.add_argument("--feedback", type=Path, help="feedback pages (default: beside --out)")
    parser.add_argument("--lesson", help="grade every notebook as this lesson (03 or 03_...)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, help="notebooks at a time (default: one per core)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook")
    parser.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell")
    parser.add_argument("--memory", type=float, default=6, help="GiB per notebook")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        started = time.perf_counter()
        _options(args)
        _writable(args.out)
        _writable_folder(args.feedback or args.out.parent / "feedback")
        known = lessons(args.solutions)
        if not known:
            raise Fail(f"no lessons with exercises in {args.solutions}.")
        lesson = _lesson_named(args.lesson, known) if args.lesson else None
        submissions = find_submissions(args.submissions)
        limits = Limits(args.timeout, args.cell_timeout, int(args.memory * 2**30))
        feedback = args.feedback or args.out.parent / "feedback"
        hidden = (args.solutions, args.submissions, feedback)
        graded = grade_class(submissions, known, limits, args.jobs, lesson, not args.quiet, hidden)
        write_gradebook(graded, known, args.out)
        pages = write_feedback(graded, feedback)
    except Fail as failure:
        print(f"handcalc-grade: {failure}", file=sys.stderr)
        return 2
    except JudgeFailed as failure:  # the course's own code, not a learner's: nothing graded
        print(f"handcalc-grade: the course's own checks failed ({failure}).", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    if any(g.status not in NOT_RUN_AT_ALL and not g.isolated for g in graded):
        print(NOT_ISOLATED, file=sys.stderr)
    print(
        f"Graded {len(graded)} notebooks of {len(pages)} learners in {took:.0f} s: "
        f"{args.out}, {len(pages)} feedback pages in {pages[0].parent}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
