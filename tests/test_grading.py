"""Grading a class: which cells a grader takes from the learner, which cells it runs, the
verdicts of a synthetic class (right, half right, each way a notebook breaks, tampered), the
command's errors, and every lesson's solution getting full marks."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

import handcalc as hc
from handcalc import assignment, grading, recording
from handcalc.exercise import VERDICT, NotPassed
from handcalc.recording import ANSWER

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_01 = nbformat.read(ROOT / "solutions" / "01_linear_relu.ipynb", as_version=4)
LESSON_01 = nbformat.read(ROOT / "lessons" / "01_linear_relu.ipynb", as_version=4)
ANSWER_01 = next(c for c in SOLUTION_01.cells if c.get("id") == "cell-16").source
CHECK_01 = next(c for c in SOLUTION_01.cells if "check" in c.metadata.get("tags", []))


def code(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(s, id=f"c{i}") for i, s in enumerate(sources)]
    return nbformat.v4.new_notebook(cells=cells)


def learner(answer: str | None, *, check: str | None = None, move: bool = False):
    """Lesson 01 as a learner hands it in: the answer cell's code (None: cell deleted), the
    check cell edited, the answer cell moved to the end."""
    notebook = nbformat.from_dict(LESSON_01)
    for cell in notebook.cells:
        if cell.get("id") == "cell-16" and answer is not None:
            cell.source = answer
        if check is not None and "check" in cell.metadata.get("tags", []):
            cell.source = check
    answer_cell = next(c for c in notebook.cells if c.get("id") == "cell-16")
    if answer is None or move:
        notebook.cells.remove(answer_cell)
    if move:
        notebook.cells.append(answer_cell)
    return notebook


# --- what is graded ---------------------------------------------------------------------------


def test_every_lesson_with_exercises_has_them_named_after_the_learners_functions() -> None:
    (only,) = assignment.exercises(SOLUTION_01)
    assert only.name == "my_linear" and only.functions == ("my_linear", "my_relu")
    assert only.answers == ("cell-16",) and only.check == CHECK_01.id
    counts = {
        name: len(assignment.exercises(nb))
        for name, nb in grading.lessons(ROOT / "solutions").items()
    }
    assert counts["07_training_saes"] == 6 and "00_start_here" not in counts
    assert sum(counts.values()) == 31  # 45 solution regions under 31 check cells


def test_lessons_carry_nbgrader_metadata_with_read_only_checks() -> None:
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        assert notebook.metadata.handcalc.lesson == path.stem
        ids = [c.metadata.nbgrader.grade_id for c in notebook.cells if "nbgrader" in c.metadata]
        assert len(ids) == len(set(ids)), f"{path.name}: grade ids repeat"
        for exercise in assignment.exercises(notebook):
            cells = {c.id: c for c in notebook.cells}
            check = cells[exercise.check]
            assert check.metadata.nbgrader == {
                "grade": True, "grade_id": exercise.name, "locked": True, "points": 1,
                "schema_version": 3, "solution": False, "task": False,
            }  # fmt: skip
            assert check.metadata.editable is False and check.metadata.deletable is False
            for answer in exercise.answers:
                assert cells[answer].metadata.nbgrader["solution"] is True


def test_the_grader_runs_the_courses_check_and_the_learners_answer() -> None:
    tampered = learner(ANSWER_01, check='print("Correct: that is Z1.")', move=True)
    graded, notes = assignment.graded_notebook(SOLUTION_01, tampered)
    cells = {c.id: c for c in graded.cells}
    assert cells[CHECK_01.id].source == CHECK_01.source
    assert cells["cell-16"].source == ANSWER_01 and notes == {"my_linear": []}
    assert [c.id for c in graded.cells].index("cell-16") < [c.id for c in graded.cells].index(
        CHECK_01.id
    ), "the answer runs before its check, wherever the learner moved it"


def test_the_grader_finds_an_answer_cell_by_the_function_it_defines() -> None:
    renumbered = learner(ANSWER_01)
    for cell in renumbered.cells:
        cell.metadata.pop("nbgrader", None)
        cell.id = f"new-{cell.id}"
    graded, _ = assignment.graded_notebook(SOLUTION_01, renumbered)
    assert next(c for c in graded.cells if c.id == "cell-16").source == ANSWER_01


def test_of_duplicated_answer_cells_the_last_one_counts_and_the_page_says_so() -> None:
    """Issue 24: a learner copies the answer cell and fixes the copy; the stale first copy does
    not count."""
    notebook = learner(ANSWER_01.replace("np.maximum(Z, 0)", "Z"))  # the stale copy: wrong
    stale = next(c for c in notebook.cells if c.get("id") == "cell-16")
    fixed = nbformat.from_dict(stale)
    fixed.id, fixed.source = "copied", ANSWER_01
    notebook.cells.insert(notebook.cells.index(stale) + 1, fixed)
    graded, notes = assignment.graded_notebook(SOLUTION_01, notebook)
    assert next(c for c in graded.cells if c.id == "cell-16").source == ANSWER_01
    assert notes["my_linear"] == [
        "Your notebook has 2 cells for my_linear, my_relu (a copied cell?): the last one is graded."
    ]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (None, "is not in your notebook (deleted?)"),
        ("def my_linear(W, b, X)\n    return W", "has a syntax error (line 1: expected ':')"),
        (ANSWER_01.replace("def my_relu", "def relu"), "do not define my_relu, which the check"),
    ],
    ids=["deleted", "syntax error", "renamed"],
)
def test_the_grader_says_what_it_noticed_in_the_answer_cell(answer, said) -> None:
    graded, notes = assignment.graded_notebook(SOLUTION_01, learner(answer))
    assert len(notes["my_linear"]) == 1 and said in notes["my_linear"][0]
    if answer is None:
        source = next(c for c in graded.cells if c.id == "cell-16").source
        assert assignment.STUB in source


def test_needed_leaves_out_what_no_check_reads_and_keeps_what_changes_state() -> None:
    notebook = code(
        "import numpy as np\nimport matplotlib.pyplot as plt",
        "data = np.arange(3)",
        "plt.plot(data)\nplt.title('a figure')",  # read by nothing: left out
        "data[0] = 5",  # changes data: kept
        "model = make()\nmodel.fit(data)",
        "def f():\n    return scale * model.predict(data)",
        "scale = 2",  # read inside f, bound after it: kept (second pass)
        "for i in range(3):\n    shown = i",  # loop variable, unread: left out
        "data = data + 1",  # reads the data of before
        "np.random.seed(0)\nplt.show()",  # a seed changes np; showing a figure changes nothing
        "f()",
    )
    kept = assignment.needed(notebook, {"c10"})
    assert kept == {"c0", "c1", "c3", "c4", "c5", "c6", "c8", "c9", "c10"}
    notebook.cells[9].source = "plt.show()"
    assert "c9" not in assignment.needed(notebook, {"c10"})


def test_a_cell_with_magics_or_that_does_not_parse_always_runs() -> None:
    notebook = code("%matplotlib inline", "x = (", "y = 1", "print(1)")
    assert assignment.needed(notebook, {"c3"}) == {"c0", "c1", "c3"}


# --- the check cell under a grader ------------------------------------------------------------


def shown_by(monkeypatch, body, grader: str) -> tuple[list[dict], str, BaseException | None]:
    """Run body inside hc.exercise() under a grader (its environment variable): (the data the
    cell showed, what it printed, what it raised)."""
    shown: list[dict] = []
    for name in ("HANDCALC_GRADING", "HANDCALC_JUDGE", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(grader, "1")
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    printed, raised = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(printed), hc.exercise():
            body()
    except BaseException as error:
        raised = error
    return shown, printed.getvalue(), raised


def verdict_of(monkeypatch, body) -> tuple[dict, str, BaseException | None]:
    """Run body inside hc.exercise() as nbgrader would, which judges in the learner's kernel:
    (verdict shown, printed, raised)."""
    shown, printed, raised = shown_by(monkeypatch, body, "NBGRADER_EXECUTION")
    (data,) = shown
    return data[VERDICT], printed, raised


def test_under_a_grader_a_wrong_check_ends_the_cell_with_not_passed(monkeypatch) -> None:
    problem = hc.autoencoder_problem(3)
    right = hc.autoencoder_trace(problem)["Z1"]

    def wrong():
        print(hc.check("Z1", right, problem))
        print(hc.check("H1", right, problem))  # ReLU forgotten

    verdict, printed, raised = verdict_of(monkeypatch, wrong)
    assert isinstance(raised, NotPassed) and "1 of 2 checks" in str(raised)
    assert verdict["passed"] is False and verdict["problem"] is None
    assert [c["correct"] for c in verdict["checks"]] == [True, False]
    assert "ReLU" in verdict["checks"][1]["message"] and "ReLU" in printed

    verdict, _, raised = verdict_of(monkeypatch, lambda: print(hc.check("Z1", right, problem)))
    assert raised is None and verdict["passed"] is True


def test_under_a_grader_an_error_or_a_stub_or_silence_fails(monkeypatch) -> None:
    verdict, printed, raised = verdict_of(monkeypatch, lambda: 1 / 0)
    assert isinstance(raised, NotPassed) and "raised ZeroDivisionError" in verdict["problem"]
    assert "ZeroDivisionError" in printed
    verdict, _, raised = verdict_of(monkeypatch, lambda: (_ for _ in ()).throw(NotImplementedError))
    assert isinstance(raised, NotImplementedError) and verdict["problem"].startswith("Not done")
    verdict, _, raised = verdict_of(monkeypatch, lambda: hc.Feedback(True, "never shown"))
    assert isinstance(raised, NotPassed) and verdict["problem"] == "The cell showed no verdict."


def test_under_handcalc_grade_the_learners_kernel_records_and_judges_nothing(monkeypatch) -> None:
    """Issue 24: the learner's kernel shows each answer as data and no verdict; the grader's
    kernel takes those answers in place of its own and judges them."""
    problem = hc.autoencoder_problem(3)
    trace = hc.autoencoder_trace(problem)

    def cell(z1, h1):
        return lambda: [print(hc.check("Z1", z1, problem)), print(hc.check("H1", h1, problem))]

    shown, printed, raised = shown_by(
        monkeypatch, cell(trace["Z1"], trace["Z1"]), "HANDCALC_GRADING"
    )
    assert raised is None and "ReLU" not in printed  # nothing was judged
    answers = {d[ANSWER]["key"]: d[ANSWER]["value"] for d in shown if ANSWER in d}
    assert list(answers) == ["check:Z1#0", "check:H1#0"]
    assert shown[-1][VERDICT] == {"passed": None, "problem": None, "checks": []}
    twice = lambda: [hc.check("Z1", trace["Z1"], problem) for _ in range(2)]  # noqa: E731
    keys = [d[ANSWER]["key"] for d in shown_by(monkeypatch, twice, "HANDCALC_GRADING")[0][:2]]
    assert keys == ["check:Z1#0", "check:Z1#1"]

    recording.load_answers(answers)  # the judge: right Z1, ReLU forgotten in H1
    shown, printed, raised = shown_by(monkeypatch, cell(trace["H1"], trace["H1"]), "HANDCALC_JUDGE")
    verdict = shown[-1][VERDICT]
    assert [c["correct"] for c in verdict["checks"]] == [True, False] and "ReLU" in printed
    assert isinstance(raised, NotPassed)

    recording.load_answers({})  # no answer recorded (the learner's kernel lost the check)
    shown, printed, raised = shown_by(monkeypatch, cell(trace["Z1"], trace["H1"]), "HANDCALC_JUDGE")
    assert not any(c["correct"] for c in shown[-1][VERDICT]["checks"])
    assert "No answer of yours reached this check" in printed


def test_recorded_answers_are_plain_data_read_back_exactly() -> None:
    import torch

    value = (
        np.arange(6, dtype=float).reshape(2, 3) / 7,
        {"loss": np.float64(0.1) + 0.2, "n": 3, "ok": True, "name": "x", "nothing": None},
        [np.array([True, False]), torch.tensor([1.5, -2.0]), np.int64(4)],
    )
    back = recording.decode(json.loads(json.dumps(recording.encode(value))))
    assert np.array_equal(back[0], value[0]) and back[0].dtype == value[0].dtype
    assert back[1] == value[1] and isinstance(back[2][1], torch.Tensor)
    assert np.array_equal(back[2][0], value[2][0]) and back[2][2] == 4
    for odd, what in ((object(), "type object"), (np.array([1j]), "complex128"),
                      (np.zeros(recording.MAX_ENTRIES + 1), "numbers")):  # fmt: skip
        assert what in recording.unreadable(recording.decode(recording.encode(odd))).why
    for forged in ({"array": ["|O", [1], [0]]}, {"code": "import os"}, [1], {"a": 1, "b": 2}):
        assert isinstance(recording.decode(forged), recording.Unreadable)


def test_without_a_grader_nothing_changes(monkeypatch) -> None:
    monkeypatch.delenv("HANDCALC_GRADING", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), hc.exercise():
        print(hc.Feedback(False, "✘ not yet"))
    assert printed.getvalue() == "✘ not yet\n"


# --- a synthetic class, graded by the command ---------------------------------------------------

WRONG_01 = "def my_linear(W, b, X):\n    return W @ X\n\n\ndef my_relu(Z):\n    return Z\n"
LOOP = "def my_linear(W, b, X):\n    while True:\n        pass\n\n\ndef my_relu(Z):\n    return Z"
HOG = ANSWER_01.replace('"""Z = W', 'np.ones(3 * 2**30 // 8)  # 3 GiB\n    """Z = W')
CLASS = {  # learner: (answer cell, check cell, moved)
    "ada": (ANSWER_01, None, False),
    "ben": (ANSWER_01.replace("np.maximum(Z, 0)", "Z"), None, False),  # half right
    "cy": (ANSWER_01.replace("b[:, None]", "b"), None, False),  # raises (broadcasting)
    "dee": ("def my_linear(W, b, X)\n    return W @ X", None, False),  # syntax error
    "eve": (LOOP, None, False),  # an endless loop
    "fay": (None, None, False),  # the answer cell deleted
    "gus": (ANSWER_01, None, True),  # cells reordered
    "hal": (ANSWER_01.replace("def my_relu", "def relu"), None, False),  # renamed
    "ivy": (ANSWER_01 + '\nfor _ in range(10**5):\n    print("spam" * 20)', None, False),
    "jo": (ANSWER_01.replace("np.maximum(Z, 0)", "Z"), 'print("Correct: that is H1.")', False),
    "kit": (HOG, None, False),  # over the memory limit
    "lu": ("import os\nos._exit(1)", None, False),  # Python itself stops
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grading")
    submitted = folder / "submitted"
    submitted.mkdir()
    for name, (answer, check, move) in CLASS.items():
        nbformat.write(
            learner(answer, check=check, move=move), submitted / f"{name}_01_linear_relu.ipynb"
        )
    (submitted / "mo_01_linear_relu.ipynb").write_text("{not a notebook")
    (submitted / "ned.ipynb").write_text(nbformat.writes(code("print('hello')")))
    nobu = submitted / "nobu" / "week 1"  # a learner's folder, as a platform downloads it
    nobu.mkdir(parents=True)
    nbformat.write(learner(ANSWER_01), nobu / "01_linear_relu.ipynb")
    second = nbformat.read(ROOT / "solutions" / "02_autoencoder_forward.ipynb", as_version=4)
    nbformat.write(second, nobu / "my copy.ipynb")  # known by its metadata, not its name
    (nobu / ".ipynb_checkpoints").mkdir()
    nbformat.write(learner(None), nobu / ".ipynb_checkpoints" / "01_linear_relu-checkpoint.ipynb")
    out = folder / "gradebook.csv"
    args = [str(submitted), "--out", str(out), "--cell-timeout", "8", "--memory", "2", "--quiet"]
    assert grading.main(args) == 0
    return folder


def gradebook(folder: Path) -> dict[tuple[str, str], dict]:
    with (folder / "gradebook.csv").open() as file:
        return {(row["learner"], row["lesson"]): row for row in csv.DictReader(file)}


def test_the_gradebook_has_every_learner_with_the_right_status_and_points(graded_class) -> None:
    book = gradebook(graded_class)
    expected = {  # (learner, lesson): (status, points, max points, "01 my_linear")
        ("ada", "01_linear_relu"): ("graded", "1", "1", "1"),
        ("ben", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("cy", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("dee", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("eve", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("fay", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("gus", "01_linear_relu"): ("graded", "1", "1", "1"),
        ("hal", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("ivy", "01_linear_relu"): ("graded (output cut)", "1", "1", "1"),
        ("jo", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("kit", "01_linear_relu"): ("graded", "0", "1", "0"),
        ("lu", "01_linear_relu"): ("kernel died", "0", "1", "0"),
        ("mo", "01_linear_relu"): ("not a notebook", "0", "0", ""),
        ("ned", ""): ("unknown lesson", "0", "0", ""),
        ("nobu", "01_linear_relu"): ("graded", "1", "1", "1"),
        ("nobu", "02_autoencoder_forward"): ("graded", "1", "1", ""),
    }
    assert set(book) == set(expected)
    for key, (status, points, most, first) in expected.items():
        row = book[key]
        assert (row["status"], row["points"], row["max_points"], row["01 my_linear"]) == (
            status, points, most, first,
        ), key  # fmt: skip
    assert book[("nobu", "02_autoencoder_forward")]["02 my_forward"] == "1"
    assert book[("ada", "01_linear_relu")]["02 my_forward"] == ""


def page(folder: Path, name: str) -> str:
    return (folder / "feedback" / f"{name}.html").read_text()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("ada", ["01_linear_relu: 1 of 1 points", "Correct: that is Z1.", "Correct: that is H1."]),
        ("ben", ["0 of 1 points", "Correct: that is Z1.", "You forgot the ReLU"]),
        ("cy", ["numpy lines a vector up with the columns", "b[:, None]"]),
        ("dee", ["has a syntax error (line 1: expected &#x27;:&#x27;)"]),
        ("eve", ["timed out", "ran too long (an endless loop?)"]),
        ("fay", ["is not in your notebook (deleted?)", "Not done yet"]),
        ("hal", ["do not define my_relu", "name &#x27;my_relu&#x27; is not defined"]),
        ("ivy", ["Status: graded (output cut)", "the grader kept the first 100 kB"]),
        ("jo", ["You forgot the ReLU"]),
        ("kit", ["MemoryError"]),
        ("lu", ["Status: kernel died", "Python stopped", "did not run"]),
        ("mo", ["not a notebook", "Could not read it"]),
        ("ned", ["unknown lesson", "pass --lesson"]),
        ("nobu", ["01_linear_relu: 1 of 1 points", "02_autoencoder_forward: 1 of 1 points"]),
    ],
)
def test_the_feedback_pages_name_the_mistakes(graded_class, name: str, said: list[str]) -> None:
    text = page(graded_class, name)
    for words in said:
        assert words in text, f"{name}: {words!r} not in the page"


def test_a_tampered_check_gets_no_credit(graded_class) -> None:
    assert "You forgot the ReLU" in page(graded_class, "jo")
    assert gradebook(graded_class)[("jo", "01_linear_relu")]["points"] == "0"


# --- the command's own errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["{tmp}/nowhere"], "is not a folder of submitted notebooks"),
        (["{tmp}/empty"], "no notebooks (.ipynb) in"),
        (["{tmp}/empty", "--lesson", "99"], "unknown lesson '99'"),
        (["{tmp}/empty", "--out", "{tmp}/no/such/folder/book.csv"], "does not exist"),
        (["{tmp}/empty", "--out", "{tmp}"], "is a folder"),
        (["{tmp}/empty", "--out", "/proc/version"], "cannot write /proc/version"),
        (["{tmp}/empty", "--feedback", "/proc/version/pages"], "cannot write feedback pages"),
        (["{tmp}/empty", "--jobs", "-1"], "--jobs -1: grade at least 1"),
        (["{tmp}/empty", "--jobs", "0"], "--jobs 0: grade at least 1"),
        (["{tmp}/empty", "--memory", "0.1"], "--memory 0.1: a notebook's Python"),
        (["{tmp}/empty", "--timeout", "0"], "--timeout 0: give a time limit"),
        (["{tmp}/empty", "--cell-timeout", "0"], "--cell-timeout 0: give a time limit"),
        (["{tmp}/empty", "--cell-timeout", "nan"], "--cell-timeout nan: give a time limit"),
    ],
    ids=[
        "bad folder",
        "no notebooks",
        "unknown lesson",
        "no such folder",
        "folder",
        "unwritable",
        "feedback unwritable",
        "jobs -1",
        "jobs 0",
        "memory",
        "timeout",
        "cell timeout",
        "nan",
    ],
)
def test_a_bad_call_is_one_line_and_exit_2(tmp_path, capsys, args, said) -> None:
    (tmp_path / "empty").mkdir()
    filled = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in filled:
        filled += ["--out", str(tmp_path / "book.csv")]
    assert grading.main(filled) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("handcalc-grade: ") and said in error


# --- every lesson -----------------------------------------------------------------------------


def test_every_solution_gets_full_marks_and_every_unfilled_lesson_none(tmp_path) -> None:
    known = grading.lessons(ROOT / "solutions")
    submissions = [
        grading.Submission("solutions", ROOT / "solutions" / f"{n}.ipynb") for n in known
    ]
    graded = grading.grade_class(submissions, known, progress=False)
    for g in graded:
        assert g.status == "graded" and g.points == g.max_points > 0, (g.lesson, g.outcomes)
    unfilled = grading.grade(
        grading.Submission("lesson", ROOT / "lessons" / "03_loss_backprop.ipynb"),
        known,
        grading.DEFAULT,
    )
    assert unfilled.points == 0 and [o.result for o in unfilled.outcomes] == ["not done"]
    assert json.dumps([o.notes for o in unfilled.outcomes]).count("Not done yet") == 1


# --- nbgrader ---------------------------------------------------------------------------------


def test_nbgrader_generates_autogrades_and_gives_feedback_on_a_lesson(tmp_path) -> None:
    """The lessons as an nbgrader course: generate_assignment, autograde, generate_feedback."""
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    bin_folder = Path(sys.executable).parent  # nbgrader calls `alembic` from PATH
    env = os.environ | {"PATH": f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}"}
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(tmp_path)!r}\nc.Execute.timeout = 120\n"
    )
    source = tmp_path / "source" / "01_linear_relu"
    source.mkdir(parents=True)
    nbformat.write(LESSON_01, source / "01_linear_relu.ipynb")

    def nbgrader(*args: str) -> None:
        command = [str(bin_folder / "nbgrader"), *args, "01_linear_relu"]
        subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)

    nbgrader("generate_assignment", "--force")
    released = nbformat.read(tmp_path / "release" / "01_linear_relu" / "01_linear_relu.ipynb", 4)
    for name in ("ada", "ben", "jo"):  # right, ReLU forgotten, the same with its check edited
        answer, check, _ = CLASS[name]
        notebook = nbformat.from_dict(released)
        for cell in notebook.cells:
            if cell.get("id") == "cell-16":
                cell.source = answer
            if check is not None and cell.metadata.get("nbgrader", {}).get("grade"):
                cell.source = check
        folder = tmp_path / "submitted" / name / "01_linear_relu"
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "01_linear_relu.ipynb")
    nbgrader("autograde")
    nbgrader("generate_feedback")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as book:
        scores = {
            name: book.find_submission("01_linear_relu", name).score
            for name in ("ada", "ben", "jo")
        }
    assert scores == {"ada": 1.0, "ben": 0.0, "jo": 0.0}
    feedback = tmp_path / "feedback" / "{}" / "01_linear_relu" / "01_linear_relu.html"
    assert "You forgot the ReLU" in Path(str(feedback).format("ben")).read_text()
    assert "You forgot the ReLU" in Path(str(feedback).format("jo")).read_text()  # not "Correct"


def test_a_notebook_over_its_time_is_stopped_kernel_and_all(tmp_path) -> None:
    import time

    from handcalc import runner

    notebook = code("import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(600)")
    limits = runner.Limits(notebook_seconds=10, cell_seconds=600, isolate=False)  # sandbox:
    ran = runner.run(notebook, tmp_path, limits)  # tests/test_sandbox.py
    assert ran.status == "timed out" and ran.detail == "10 s"
    kernel = int((tmp_path / "pid").read_text())
    for _ in range(50):
        status = Path(f"/proc/{kernel}/status")
        if not status.exists() or "\nState:\tZ" in status.read_text():
            break  # gone, or dead and waiting to be reaped
        time.sleep(0.1)
    else:
        raise AssertionError(f"the kernel (pid {kernel}) still runs")


def _stopped(timed_out: list[str]) -> tuple[grading.Outcome, list[str]]:
    """A three-cell lesson (setup, answer, check) whose check failed with a NameError, graded
    after the cell limit stopped `timed_out`."""
    from handcalc.runner import Limits, Run

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("model = train_everything()", id="setup"),
        nbformat.v4.new_code_cell("def my_f(x):\n    return x", id="answer"),
        nbformat.v4.new_code_cell("check(my_f(model))", id="check"),
    ]
    exercise = assignment.Exercise("my_f", ("answer",), "check", ("my_f",))
    outcome = grading.Outcome(exercise, "error", notes=["NameError: name 'model' is not defined"])
    said = grading._stopped_cells(Run(notebook, "finished", timed_out), [outcome], Limits())
    return outcome, said


def test_a_setup_cell_stopped_by_the_cell_limit_is_reported_as_that() -> None:
    """Issue 23: a lesson's own cell killed by the cell time limit is said to be that, and the
    checks after it are 'not run', not the learner's NameError."""
    outcome, said = _stopped(["setup"])
    assert said == outcome.notes and outcome.result == "not run" and outcome.checks == []
    assert said[0].startswith("Cell 1 of the lesson ('model = train_everything()') ran past")
    assert "the cell time limit (120 s)" in said[0] and "--cell-timeout" in said[0]


def test_an_answer_cell_stopped_by_the_cell_limit_fails_its_exercise() -> None:
    outcome, said = _stopped(["answer"])
    assert said == [] and outcome.result == "timed out"
    assert (
        outcome.notes[-1]
        == "Your answer cell ran past the cell time limit (120 s) and was stopped."
    )


def test_honest_answers_keep_their_points_and_pages_stay_short(tmp_path: Path) -> None:
    """Issue 24: a right function with a debug print that takes the check's output past the
    output cap keeps its point; a 3 MB exception message becomes a few hundred characters."""
    chatty = ANSWER_01.replace('"""Z = W', 'print("debug " * 20_000)\n    """Z = W')
    loud = WRONG_01.replace("return W @ X", "raise ValueError('x' * 3_000_000)")
    known = grading.lessons(ROOT / "solutions")
    results = []
    for name, answer in (("chatty", chatty), ("loud", loud)):
        path = tmp_path / f"{name}_01_linear_relu.ipynb"
        nbformat.write(learner(answer), path)
        results.append(grading.grade(grading.Submission(name, path, True), known, grading.Limits()))
    chatty_graded, loud_graded = results
    assert chatty_graded.points == 1 and chatty_graded.status == "graded (output cut)"
    page = grading.feedback_page("loud", [loud_graded])
    assert loud_graded.points == 0 and len(page) < 10_000 and "more characters not shown" in page


def test_a_notebook_out_of_time_keeps_the_points_it_had_and_names_what_ran_too_long(
    tmp_path: Path,
) -> None:
    """Issue 24: lesson 06's first exercise passes, the second loops forever; the notebook's
    time runs out, the first keeps its point and the page names the second."""
    notebook = nbformat.read(ROOT / "solutions" / "06_sae_by_hand.ipynb", as_version=4)
    sheet = next(c for c in notebook.cells if c.get("id") == "f1414789")
    sheet.source = "def my_sae_sheet(*args):\n    while True:\n        pass\n"
    path = tmp_path / "max_06_sae_by_hand.ipynb"
    nbformat.write(notebook, path)
    known = grading.lessons(ROOT / "solutions")
    limits = grading.Limits(notebook_seconds=18, cell_seconds=600)
    graded = grading.grade(grading.Submission("max", path, True), known, limits)
    results = {o.exercise.name: o.result for o in graded.outcomes}
    assert graded.status == "timed out" and graded.points == 1
    assert results == {"my_decoder_norms": "passed", "my_sae_sheet": "timed out"}
    assert graded.notes == ["The notebook did not finish within 18 s: it was running my_sae_sheet."]


@pytest.mark.parametrize(
    ("stem", "by_file", "name"),
    [
        ("uma_01_linear_relu", True, "uma"),  # even when the notebook is another lesson
        ("bob-02-forward", True, "bob"),
        ("01_linear_relu", True, "unnamed"),
        ("chloë", True, "chloë"),
        ("01_linear_relu", False, "01_linear_relu"),  # a folder's name is the learner's
    ],
)
def test_a_learner_is_named_by_the_folder_or_the_file_name_before_the_lesson(
    stem: str, by_file: bool, name: str
) -> None:
    known = grading.lessons(ROOT / "solutions")
    submission = grading.Submission(stem, Path(f"{stem}.ipynb"), by_file)
    assert grading.learner_name(submission, known) == name


def test_feedback_pages_never_share_a_file() -> None:
    names = ["Chloë", "Chloé", "Chlo_", "a b", "a_b", "ada"]
    pages = [grading.page_name(n) for n in names]
    assert len(set(pages)) == len(names) and grading.page_name("ada") == "ada"


def test_bookkeeping_one_row_per_learner_and_lesson_and_a_row_for_no_notebook(
    tmp_path: Path,
) -> None:
    """Issue 24: two files of one learner for one lesson give one row (the newer, the page
    names the other); a folder with only a PDF gets a row; --lesson against the metadata is a
    note on the row."""
    submitted = tmp_path / "submitted"
    (submitted / "pia").mkdir(parents=True)
    (submitted / "pia" / "lesson 1.pdf").write_bytes(b"%PDF-1.4")
    (submitted / "ada").mkdir()
    nbformat.write(learner(WRONG_01), submitted / "ada" / "first try.ipynb")
    os.utime(submitted / "ada" / "first try.ipynb", (1, 1))
    nbformat.write(learner(ANSWER_01), submitted / "ada" / "01_linear_relu.ipynb")
    known = grading.lessons(ROOT / "solutions")
    graded = grading.grade_class(grading.find_submissions(submitted), known, progress=False)
    rows = {(g.submission.learner, g.status): g for g in graded}
    assert set(rows) == {("ada", "graded"), ("pia", "no notebook")}
    ada, pia = rows[("ada", "graded")], rows[("pia", "no notebook")]
    assert ada.points == 1 and "Also handed in for this lesson" in ada.notes[-1]
    assert "first try.ipynb" in ada.notes[-1]
    assert pia.notes == ["No notebook (.ipynb) in the folder: it holds lesson 1.pdf."]
    forced = grading.grade(grading.Submission("ada", submitted / "ada" / "01_linear_relu.ipynb"),
                           known, grading.Limits(), "03_loss_backprop")  # fmt: skip
    assert forced.notes[0] == (
        "Graded as 03_loss_backprop (--lesson), but the notebook says it is 01_linear_relu."
    )


def test_without_a_sandbox_the_gradebook_and_the_command_say_so(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from handcalc import sandbox

    monkeypatch.setattr(sandbox, "available", lambda: False)
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    nbformat.write(learner(ANSWER_01), submitted / "ada_01_linear_relu.ipynb")
    book = tmp_path / "gradebook.csv"
    assert grading.main([str(submitted), "--out", str(book), "--quiet"]) == 0
    with book.open() as file:
        (row,) = list(csv.DictReader(file))
    assert row["isolated"] == "no" and row["points"] == "1"
    assert "WARNING: the notebooks ran without a sandbox" in capsys.readouterr().err


# --- each learner's own problem ---------------------------------------------------------------


def _checks_called(source: str) -> list[str]:
    import ast

    calls = [n.func for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    names = [c.attr if isinstance(c, ast.Attribute) else getattr(c, "id", "") for c in calls]
    return sorted(n for n in names if n == "compare" or n.startswith("check"))


def test_every_computed_answer_is_also_checked_on_a_problem_of_the_learners_own() -> None:
    """Issue 24: a check cell's variant draws its problem from SEED and calls the same checks;
    only lesson 08's reading (a latent and a sentence, not a computation) has none."""
    without = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for exercise in assignment.exercises(notebook):
            cell = next(c for c in notebook.cells if c.id == exercise.check)
            own = assignment.own_problem(cell, 123)
            if own is None:
                without.append(exercise.name)
                continue
            source, problem = own
            assert source.startswith("SEED = 123\n") and "123" in problem
            assert _checks_called(source) == _checks_called(cell.source), exercise.name
            compile(source, exercise.name, "exec")
    assert without == ["my_reading"]


def test_a_variant_that_no_longer_fits_its_check_cell_is_refused() -> None:
    cell = nbformat.v4.new_code_cell("print(check(my_f(1)))", id="c")
    cell.metadata["handcalc"] = {"variant": {"replace": [["my_f(2)", "my_f(SEED)"]],
                                             "problem": "seed {seed}"}}  # fmt: skip
    with pytest.raises(ValueError, match="not in it exactly once"):
        assignment.own_problem(cell, 5)


def test_the_same_notebook_always_gets_the_same_own_problem_and_another_one_another() -> None:
    graded, _ = assignment.graded_notebook(SOLUTION_01, learner(ANSWER_01))
    seed = grading.own_seed("ada", "01_linear_relu", graded, SOLUTION_01)
    assert seed == grading.own_seed("ada", "01_linear_relu", graded, SOLUTION_01)
    assert seed != grading.own_seed("ben", "01_linear_relu", graded, SOLUTION_01)
    typed, _ = assignment.graded_notebook(SOLUTION_01, learner(ANSWER_01 + "\n# 1"))
    assert seed != grading.own_seed("ada", "01_linear_relu", typed, SOLUTION_01)


def test_when_the_courses_own_code_fails_in_the_judge_nothing_is_graded(tmp_path, capsys) -> None:
    solutions, submitted = tmp_path / "solutions", tmp_path / "submitted"
    solutions.mkdir(), submitted.mkdir()
    lesson = code(
        "import handcalc as hc\n1 / 0",
        "def my_f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
        "with hc.exercise():\n    print(hc.compare(my_f(1), 1))",
    )
    lesson.cells[2].metadata["tags"] = ["check"]
    lesson.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(lesson, solutions / "01_broken.ipynb")
    nbformat.write(lesson, submitted / "ada_01_broken.ipynb")
    book = tmp_path / "book.csv"
    args = [str(submitted), "--out", str(book), "--solutions", str(solutions), "--quiet"]
    assert grading.main(args) == 1
    said = capsys.readouterr().err
    assert "the course's own checks failed" in said and "ZeroDivisionError" in said
    assert not book.exists()
