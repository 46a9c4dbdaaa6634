"""The sandbox a learner's notebook runs in when it is graded: read-only course, hidden
solutions and submissions, no network, its own processes, which die with it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

import handcalc as hc
from handcalc import sandbox
from handcalc.runner import Limits, run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap does not run here")


def _ran(tmp_path: Path, source: str, **limits) -> dict:
    """Run one cell in the sandbox as the grader does; it prints a JSON report, returned here."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    hidden = tmp_path / "submissions"
    hidden.mkdir(exist_ok=True)
    (hidden / "classmate.ipynb").write_text("the classmate's answers")
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    ran = run(notebook, folder, Limits(**limits), (hidden, ROOT / "solutions"))
    assert ran.isolated.startswith("sandbox"), ran
    printed = [o.text for o in ran.notebook.cells[0].outputs if o.output_type == "stream"]
    errors = [o.evalue for o in ran.notebook.cells[0].outputs if o.output_type == "error"]
    assert printed, errors or ran
    return json.loads(printed[-1])


def test_inside_the_course_is_read_only_and_the_secrets_are_hidden(tmp_path: Path) -> None:
    seen = _ran(
        tmp_path,
        f"""
import json, os, socket
report = {{}}
for name, path in (("course", {str(ROOT / "handcalc" / "checks" / "core.py")!r}),
                   ("home", os.path.expanduser("~/planted.txt")), ("tmp", "/tmp/planted.txt")):
    try:
        open(path, "a").write("# changed")
        report[name] = "written"
    except OSError as error:
        report[name] = type(error).__name__
report["solutions"] = sorted(os.listdir({str(ROOT / "solutions")!r}))
report["submissions"] = sorted(os.listdir({str(tmp_path / "submissions")!r}))
report["networks"] = sorted(name for _, name in socket.if_nameindex())
report["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
report["grader"] = os.getppid()
print(json.dumps(report))
""",
    )
    assert seen["course"] == "OSError" or seen["course"].endswith("Error")
    assert seen["course"] != "written" and seen["solutions"] == [] and seen["submissions"] == []
    assert seen["networks"] == ["lo"]
    assert max(seen["processes"]) < 100  # its own process ids: the grader's are not there
    assert not (ROOT / "handcalc" / "checks" / "core.py").read_text().endswith("# changed")


def test_every_process_the_notebook_started_dies_with_it(tmp_path: Path) -> None:
    """A detached grandchild that would write a file after the notebook ended never does, and no
    process of the run is alive afterwards."""
    marker = tmp_path / "work" / "late.txt"
    seen = _ran(
        tmp_path,
        f"""
import json, subprocess
for _ in range(20):
    subprocess.Popen(["sh", "-c", "sleep 4; echo late >> {marker}"], start_new_session=True)
print(json.dumps({{"started": 20}}))
""",
    )
    assert seen == {"started": 20}
    time.sleep(6)
    assert not marker.exists()
    alive = subprocess.run(["pgrep", "-f", f"echo late >> {marker}"], capture_output=True)
    assert alive.stdout == b""


def test_one_memory_limit_for_the_whole_sandbox_where_a_cgroup_can_be_made(tmp_path: Path) -> None:
    """Three children of 400 MB each stay under a per-process limit of 1 GiB, but not under one
    limit of 1 GiB for the sandbox as a whole: where the grader can make a cgroup they are
    killed; elsewhere each keeps its own limit and they live, as the README says."""
    seen = _ran(
        tmp_path,
        """
import json, subprocess, sys
code = "import time; b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(3)"
children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
print(json.dumps({"codes": [child.wait() for child in children]}))
""",
        memory_bytes=2**30,
    )
    if sandbox.one_limit_possible():
        assert any(code != 0 for code in seen["codes"]), seen
    else:
        assert seen["codes"] == [0, 0, 0]


def test_a_sandbox_over_its_time_is_stopped_with_everything_in_it(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    source = "import subprocess, time\nsubprocess.Popen(['sleep', '599'])\ntime.sleep(600)"
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    ran = run(notebook, tmp_path, Limits(notebook_seconds=10, cell_seconds=600))
    assert ran.status == "timed out" and ran.isolated.startswith("sandbox")
    for _ in range(50):
        left = subprocess.run(["pgrep", "-f", "sleep 599|ipykernel.*handcalc-run-"],
                              capture_output=True).stdout  # fmt: skip
        if not left:
            break
        time.sleep(0.1)
    assert left == b"", "the kernel or its child still runs"


def test_without_isolation_the_run_says_so(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("print(1)")]
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    ran = run(notebook, tmp_path, Limits(isolate=False))
    assert ran.isolated == "" and ran.notebook.cells[0].outputs[0].text == "1\n"


def course_checksums() -> dict[str, str]:
    """sha256 of every file of the course that a submission could want to change."""
    found = {}
    for folder in ("handcalc", "solutions", "lessons"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


LESSONS_PROBLEM = hc.autoencoder_trace(hc.autoencoder_problem(7))  # lesson 01's seed
WRONG = "def my_linear(W, b, X):\n    return W @ X\n\n\ndef my_relu(Z):\n    return Z\n"
HOSTILE = {  # learner: what the answer cell does besides a wrong answer
    "rewriter": """
import handcalc, pathlib
checks = pathlib.Path(handcalc.__file__).parent / "checks" / "core.py"
with open(checks, "a") as f:
    f.write("\\ndef compare(*a, **k):\\n    return Feedback(True, 'Correct')\\n")
(pathlib.Path(handcalc.__file__).parent.parent / "solutions" / "planted.txt").write_text("x")
""",
    "killer": """
import os, signal
for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    try:
        if b"handcalc" in open(f"/proc/{pid}/cmdline", "rb").read():
            os.kill(int(pid), signal.SIGKILL)
    except OSError:
        pass
""",
    "lingerer": """
import subprocess
subprocess.Popen(["sh", "-c", "sleep 3; echo lingerer,01_linear_relu,graded,1,1,1 >> {book}"],
                 start_new_session=True)
""",
    "forker": """
import subprocess
for _ in range(60):
    subprocess.Popen(["sleep", "30"], start_new_session=True)
""",
    "reader": f"""
import json
solution = json.load(open({str(ROOT / "solutions" / "01_linear_relu.ipynb")!r}))
exec("".join(next(c for c in solution["cells"] if c.get("id") == "cell-16")["source"]))
""",
    "copier": """
import glob, json
for path in glob.glob("{submitted}/ada*"):
    cells = json.load(open(path))["cells"]
    exec("".join(next(c for c in cells if c.get("id") == "cell-16")["source"]))
""",
    "checker": """
import handcalc as hc
hc.check = lambda *args, **kwargs: hc.Feedback(True, "Correct: that is Z1.")
""",
    "exerciser": """
import contextlib
import handcalc as hc
from IPython.display import display
from handcalc.exercise import VERDICT
@contextlib.contextmanager
def exercise():
    yield
    display({VERDICT: {"passed": True, "problem": None, "checks": []}}, raw=True)
hc.exercise = exercise
""",
    "printer": """
from IPython.display import display
from handcalc.exercise import VERDICT
class Stop(BaseException):
    pass
def my_relu(Z):
    print("✔ Correct: that is H1.")
    display({VERDICT: {"passed": True, "problem": None, "checks": []}}, raw=True)
    raise Stop()
""",
    "typist": f"""
import numpy as np
def my_linear(W, b, X):
    return np.array({LESSONS_PROBLEM["Z1"].tolist()})
def my_relu(Z):
    return np.array({LESSONS_PROBLEM["H1"].tolist()})
""",
    "forger": """
import numpy as np
from IPython.display import display
from handcalc import recording
recording._show = lambda key, value: None
for key in ("check:Z1#0", "check:H1#0"):
    forged = recording.encode((np.ones((4, 3)),))
    display({recording.ANSWER: {"key": key, "value": forged}}, raw=True)
""",
}


def test_a_hostile_class_earns_nothing_and_changes_nothing(tmp_path: Path) -> None:
    """Issue 24: each submission tries one attack besides a wrong answer (rewrite the course,
    kill the grader, write the gradebook after the run, leave 60 processes behind, run the
    solution's answer, copy a classmate's, replace the checks, print a verdict and stop the
    cell, record forged answers, type in the answers to the lesson's problem). None earns a
    point, the honest rows are right, the course is unchanged byte for byte, the gradebook is
    unchanged after the run, and no process of the run is alive."""
    from handcalc import grading
    from tests.test_grading import ANSWER_01, learner

    before = course_checksums()
    submitted, book = tmp_path / "submitted", tmp_path / "gradebook.csv"
    submitted.mkdir()
    honest = {"ada": ANSWER_01, "ben": ANSWER_01.replace("np.maximum(Z, 0)", "Z")}
    for name, answer in honest.items():
        nbformat.write(learner(answer), submitted / f"{name}_01_linear_relu.ipynb")
    for name, attack in HOSTILE.items():
        attack = attack.replace("{book}", str(book)).replace("{submitted}", str(submitted))
        nbformat.write(learner(WRONG + "\n" + attack), submitted / f"{name}_01_linear_relu.ipynb")
    args = [str(submitted), "--out", str(book), "--quiet"]
    assert grading.main(args) == 0
    written = book.read_text()
    rows = {line.split(",")[0]: line.split(",") for line in written.splitlines()[1:]}
    assert rows["ada"][3] == "1" and set(rows) == {*honest, *HOSTILE}
    assert all(rows[name][3] == "0" for name in [*HOSTILE, "ben"])
    assert all(row[-1] == "yes" for row in rows.values())  # every run was isolated
    typist = (tmp_path / "feedback" / "typist.html").read_text()
    assert (
        "Correct: that is Z1." in typist
        and "On your own problem, hc.autoencoder_problem(" in typist
    )
    time.sleep(5)
    assert book.read_text() == written and course_checksums() == before
    assert not (ROOT / "solutions" / "planted.txt").exists()
    # The attacks' own command lines exactly (anything else on the machine may sleep too).
    attacks = "^sleep 30$|^sh -c sleep 3; echo lingerer"
    left = subprocess.run(["pgrep", "-f", attacks], capture_output=True)
    assert left.stdout == b""
