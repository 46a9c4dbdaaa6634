"""The course as learners meet it: JupyterLab in headless Chromium, driven by Playwright.

For every notebook in solutions/ and lessons 00-04: open it, Run All, and read back every cell's
outputs. Solutions: nothing fails and every check says Correct. Lessons: exactly the check cells
fail, with the unfilled stub's NotImplementedError. Every figure drawn has a title and
labelled axes (handcalc.plots.missing_labels). Then use a widget as a learner would (click
Next, type into an answer grid, step a gallery's menu) and see the output change, without an error;
then axe-core checks the notebook's outputs and text against WCAG 2.1 A and AA: no violation.
A screenshot of each notebook is left in artifacts/browser/.

Needs Chromium (Debian's `chromium` package); without it these tests are skipped, with the
command that installs it. CI installs it and counts a skip as a failure.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.test_accessibility import contrast
from tools.lab import INSTALL_CHROMIUM, Lab, Notebook, chromium, chromium_path

ROOT = Path(__file__).resolve().parent.parent
# Every solution; the lessons learners meet first (by hand, with answer grids). The lessons after
# those differ from their solutions only in the same generated stubs: that no other cell reads a
# learner's function, and that every stub sits inside a function, is checked without a browser
# (tests/test_lessons.py).
NOTEBOOKS = [f"solutions/{path.name}" for path in sorted((ROOT / "solutions").glob("*.ipynb"))] + [
    f"lessons/{path.name}" for path in sorted((ROOT / "lessons").glob("0[0-4]_*.ipynb"))
]
SCREENSHOTS = ROOT / "artifacts" / "browser"
AXE_PAGE = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
AUDITS: dict = {}  # each notebook's axe audit, written to artifacts/browser/axe.md at the end
WIDGET = "application/vnd.jupyter.widget-view+json"
# Run in the kernel before Run All: every figure drawn from then on (shown, or saved for a
# widget) is checked for a title and axis labels; the kernel keeps what is missing.
AUDIT_FIGURES = """
def _course_audit():
    import matplotlib.backend_bases as backend

    from handcalc.plots import missing_labels

    found, original = [], backend.FigureCanvasBase.print_figure

    def audited(self, *args, **kwargs):
        found.extend(missing_labels(self.figure))
        return original(self, *args, **kwargs)

    backend.FigureCanvasBase.print_figure = audited
    return found


_course_unlabelled = _course_audit()
"""
REPORT_FIGURES = "print(__import__('json').dumps(_course_unlabelled))"


def require_chromium() -> None:
    if chromium_path() is None:
        pytest.skip(f"Chromium is not installed; to run the browser tests: {INSTALL_CHROMIUM}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the notebooks (running them leaves the checkout as it is)."""
    require_chromium()
    root = tmp_path_factory.mktemp("course")
    for folder in ("solutions", "lessons"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("worksheets"))
    with Lab(root) as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab):
    with sync_playwright() as playwright:
        browser = chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def axe_report():
    """After the notebooks: a table of what axe saw in each (artifacts/browser/axe.md)."""
    yield
    if AUDITS:
        rows = [f"| {path} | {a.present} | {a.checked} | {len(a.violations)} |"
                for path, a in AUDITS.items()]  # fmt: skip
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "axe.md").write_text(
            "| notebook | visible text elements | checked by axe | violations |\n"
            "|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )


@pytest.fixture(scope="module")
def pages(browser):
    """One browser tab for all the notebooks, as a learner goes from lesson to lesson; a test
    that fails closes it, and the next one starts a fresh tab."""
    tabs = []
    yield tabs
    for tab in tabs:
        tab.close()


@contextmanager
def tab(browser, pages: list, lab: Lab):
    """The shared tab (a fresh one if a test closed it); a failure closes it, and every kernel
    is shut down afterwards."""
    if not pages or pages[-1].is_closed():
        pages.append(browser.new_page(viewport={"width": 1280, "height": 900}))
    page = pages[-1]
    try:
        yield page
    except BaseException:
        page.close()
        raise
    finally:
        lab.shutdown_kernels()


def errors(cell: dict) -> list[str]:
    return [o["ename"] for o in cell["outputs"] if o["output_type"] == "error"]


# A right verdict as printed: "Correct: ...", a sheet's "Step 3, X': correct.", or the indented
# continuation of a wrapped line.
RIGHT_LINE = re.compile(r"Correct|Step \d+, .+: correct\.$|  ")


def printed(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")


def problems(cells: list[dict], lesson: bool) -> list[str]:
    """What is wrong with a notebook after Run All, one line per cell, or [] if nothing is."""
    found = []
    for cell in (c for c in cells if c["cell_type"] == "code"):
        where = f"cell {cell['source'][:50]!r}"
        check = "check" in cell["metadata"].get("tags", [])
        if cell["execution_count"] is None:
            found.append(f"{where} did not run")
        elif lesson and check:
            if errors(cell) != ["NotImplementedError"]:
                found.append(
                    f"{where}: the unfilled stub should fail its check, got {errors(cell)}"
                )
        elif errors(cell):
            found.append(f"{where} raised {errors(cell)}")
        elif check and not all(RIGHT_LINE.match(line) for line in printed(cell).splitlines()):
            found.append(f"{where} printed {printed(cell)!r}, not only 'Correct ...' lines")
        elif check and not printed(cell).strip():
            found.append(f"{where} printed nothing")
    return found


def use_widgets(notebook: Notebook, focus_shot: Path | None = None) -> list[str]:
    """Use one widget of each kind the notebook shows; returns what was used. focus_shot: a
    PNG of the first grid with the keyboard's focus on its Work out menu."""
    used = []
    outputs = notebook.widget_outputs()
    page = notebook.page
    if outputs.filter(has_text="Step ").count():
        change = notebook.click_next()
        step = [int(n) for n in re.findall(r"Step (\d+) of", change.before + change.after)]
        assert step == [1, 2], f"Next should go from step 1 to step 2: {change}"
        viewer = outputs.filter(has_text="Step ").first
        said = notebook.said(viewer)
        assert said.startswith("Step 2 of "), f"a screen reader heard {said!r} on Next"
        used.append("trace viewer")
    if outputs.filter(has=page.locator(".widget-gridbox")).count():
        size = notebook.grid_size()
        change = notebook.fill_grid(["999"] * size)  # a wrong answer in every cell
        marks = change.after.split("\n")  # each cell's mark is a line of its own
        assert "✘" not in change.before and "✔" not in change.before, change
        assert marks.count("✘") == size and "✔" not in change.after, change
        assert f"{size} of {size} entries are off" in change.after, change
        tree = notebook.accessibility_tree()
        named = [name for role, name in tree if role == "textbox" and name.endswith(": wrong")]
        twice = [name for role, name in tree if role == "StaticText" and ", row 1 of " in name]
        assert len(named) >= size and not twice, (
            f"{len(named)} boxes named with their verdict; box names also read as text: {twice}"
        )
        assert notebook.said().startswith("Wrong. "), notebook.said()  # Check's verdict, read
        worked = notebook.work_out(1)  # ↓ on the Work out menu: the first wrong entry
        assert worked.after.count(" = ") > worked.before.count(" = "), worked
        focus = notebook.focused()
        assert focus["tag"] == "SELECT" and focus["inWidget"], f"↓ took the focus to {focus}"
        if focus_shot is not None:
            notebook.grid_output().screenshot(path=str(focus_shot))
        assert " = " in notebook.said(), f"a screen reader heard {notebook.said()!r}"
        assert focus["outline"] >= 2 and contrast(focus["colour"], "rgb(255, 255, 255)") >= 3, (
            f"the focus ring is hard to see: {focus}"
        )
        hinted = notebook.click_hint()
        assert "Hint 2 of 4" in hinted.after and "Hint 2 of 4" not in hinted.before, hinted
        assert notebook.said().startswith("Hint 1 of 4: "), notebook.said()
        notebook.page.keyboard.press("ArrowDown")  # on Hint: a button keeps its keys too
        focus = notebook.focused()
        assert focus["tag"] == "BUTTON" and focus["inWidget"], f"↓ took the focus to {focus}"
        used.append("answer grid")
    if outputs.filter(has=page.locator(".handcalc-gallery")).count():
        before = notebook.chosen()
        change = notebook.choose()
        assert notebook.chosen() != before, f"the menu did not move on ↓: {change}"
        assert change.after != change.before, change
        assert notebook.focused()["inWidget"], "↓ on the menu took the focus out of the gallery"
        gallery = outputs.filter(has=page.locator(".handcalc-gallery")).first
        said = notebook.said(gallery)
        assert said.startswith(notebook.chosen()) or notebook.chosen() in said, said
        assert len(said) <= 200, f"the gallery's status is not one line: {said!r}"
        menu = page.get_by_role("combobox", name=re.compile(r"^(sparsity S|latent)"))
        assert menu.count() >= 1, "the gallery's menu has no accessible name"
        used.append("menu")
    return used


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_in_jupyterlab(path: str, lab: Lab, browser, pages: list) -> None:
    with tab(browser, pages, lab) as page:
        notebook = Notebook(page, lab, path)
        notebook.run_code(AUDIT_FIGURES)
        notebook.run_all()
        cells = notebook.cells()
        found = problems(cells, lesson=path.startswith("lessons/"))
        unlabelled = list(dict.fromkeys(json.loads(notebook.run_code(REPORT_FIGURES))))
        shown = notebook.errors_shown()
        shot = SCREENSHOTS / "focus_ring.png" if path == "solutions/01_linear_relu.ipynb" else None
        used = use_widgets(notebook, shot)
        after = notebook.errors_shown()
        audit = notebook.accessibility_audit()  # after the widgets were used
        notebook.screenshot(SCREENSHOTS / path.replace("/", "_").replace(".ipynb", ".png"))
        notebook.close()
    assert not found, "\n".join(found)
    assert not unlabelled, "figures without a title or axis labels:\n" + "\n".join(unlabelled)
    new = after[len(shown) :] if after[: len(shown)] == shown else after
    assert after == shown, f"using the widgets ({', '.join(used)}) showed an error: {new}"
    has_widgets = any(WIDGET in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    assert bool(used) == has_widgets, f"widgets shown: {has_widgets}, used: {used}"
    AUDITS[path] = audit
    assert not audit.violations, "axe-core (WCAG 2.1 A/AA) in the course's content:\n" + (
        "\n".join(audit.violations)
    )
    assert audit.present > 0 and not audit.missed, (
        f"axe checked {audit.checked} of the {audit.present} text elements; not these:\n"
        + "\n".join(audit.missed)
    )


def test_typed_answers_survive_saving_closing_and_reopening(lab: Lab, browser, pages: list):
    """Type into a grid, save, close and shut the kernel down, reopen: the saved notebook shows
    a plain line where the grid was (never "model not found"); run it again: the answers are
    back."""
    path = "persist/03_loss_backprop.ipynb"
    (lab.root / "persist").mkdir(exist_ok=True)
    shutil.copy(lab.root / "lessons" / "03_loss_backprop.ipynb", lab.root / path)
    keep = f"import os; os.environ['HANDCALC_ANSWERS'] = {str(lab.root / 'answers.json')!r}"
    with tab(browser, pages, lab) as page:
        notebook = Notebook(page, lab, path)
        notebook.run_code(keep)
        notebook.run_all()
        typed = [str(n) for n in range(notebook.grid_size())]
        named = re.compile(r"^dX', row \d of 4 \(feature \d\), column \d of 4 \(sample \d\)$")
        boxes = notebook.panel.get_by_role("textbox", name=named)  # as a screen reader finds them
        assert boxes.count() == len(typed), "the grid's boxes have no accessible names"
        notebook.fill_grid(typed)
        notebook.save()
        notebook.close()
        lab.shutdown_kernels()
        notebook = Notebook(page, lab, path)
        shown = notebook.panel.inner_text()
        notebook.run_code(keep)
        notebook.run_all()
        inputs = notebook.grid_output().locator(".widget-gridbox input")
        restored = [inputs.nth(i).input_value() for i in range(inputs.count())]
        notebook.close()
    assert "model not found" not in shown
    assert "Answer grid for dX' (seed 3). Run this cell to get your grid and your answers" in shown
    assert restored == typed


def test_after_a_kernel_restart_a_grid_says_so_and_comes_back(lab: Lab, browser, pages: list):
    """Check a right answer, restart the kernel: the grid says it cannot check any more and
    shows no ✔ and no Check; its cell run alone says to run the cells above; Run All brings
    the grid back with the answers."""
    import nbformat

    import handcalc as hc
    from handcalc.widgets import RESTART_GRID

    path = "restart/grid.ipynb"
    (lab.root / "restart").mkdir(exist_ok=True)
    cells = [
        "import handcalc as hc\nfrom handcalc.widgets import MatrixEntry\n\n"
        "problem = hc.autoencoder_problem()",
        'MatrixEntry("Z1", problem)',
    ]
    notebook_json = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(notebook_json, lab.root / path)
    right = hc.autoencoder_trace(hc.autoencoder_problem())["Z1"]
    typed = [text for row in hc.display.cells(right) for text in row]
    keep = f"import os; os.environ['HANDCALC_ANSWERS'] = {str(lab.root / 'restart.json')!r}"
    with tab(browser, pages, lab) as page:
        notebook = Notebook(page, lab, path, timeout=120)
        notebook.run_code(keep)
        notebook.run_all()
        checked = notebook.fill_grid(typed)
        notebook.grid_output().screenshot(path=str(SCREENSHOTS / "restart_grid_before.png"))
        notebook.restart_kernel()
        grid = notebook.grid_output()
        box = grid.locator(".handcalc-grid.jupyter-widgets-disconnected")
        box.wait_for(timeout=10_000)
        said = box.evaluate("el => getComputedStyle(el, '::before').content")
        after = grid.inner_text()
        check_shown = grid.locator("button", has_text="Check").is_visible()
        grid.screenshot(path=str(SCREENSHOTS / "restart_grid.png"))
        notebook.run_cell(1)
        alone = notebook.cells()[1]["outputs"]
        last = notebook.panel.locator(".jp-Cell").nth(1)
        last.screenshot(path=str(SCREENSHOTS / "restart_cell_alone.png"))
        notebook.run_code(keep)
        notebook.run_all()
        inputs = notebook.grid_output().locator(".widget-gridbox input")
        back = [inputs.nth(i).input_value() for i in range(inputs.count())]
        notebook.close()
    assert "✔" not in checked.before and "Correct" in checked.after, checked
    assert checked.after.count("✔") == len(typed) + 1, checked  # each box, and the verdict
    assert said == f'"{RESTART_GRID}"', said
    assert "✔" not in after and "Correct" not in after, after
    assert not check_shown, "Check is still offered on a grid that cannot check"
    said_alone = [o["traceback"][-1] for o in alone if o["output_type"] == "error"]
    assert [o.get("ename") for o in alone] == ["NameError"], alone
    assert said_alone[0].startswith("No cell has run since the kernel started"), alone
    assert back == typed


DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"


def lesson_00_outputs(
    browser, lab: Lab, path: str = "lessons/00_start_here.ipynb"
) -> tuple[list[str], bool]:
    """The texts of lesson 00's outputs after Run All, in a page of its own; and whether the
    notebook showed an unsaved change as soon as it was open (before anything ran)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        notebook = Notebook(page, lab, path)
        page.wait_for_timeout(1000)  # the kernel's language_info arrives after it is idle
        dirty = page.evaluate(DIRTY)
        notebook.run_all()
        return notebook.panel.locator(".jp-OutputArea-output").all_inner_texts(), dirty
    finally:
        page.close()
        lab.shutdown_kernels()


def test_lesson_00_says_how_to_fix_widgets_where_they_cannot_show(lab: Lab, browser) -> None:
    """The same lesson in a JupyterLab without its widget extension, and in the course's, as
    `python course.py lab` copies it for a learner: there it opens without an unsaved change
    (JupyterLab writes the kernel's language_info into a notebook; the copy already holds it)."""
    import course

    with Lab(lab.root, disabled=("@jupyter-widgets/jupyterlab-manager",)) as bare:
        shown, _ = lesson_00_outputs(browser, bare)
    assert any("widgets do not show in this JupyterLab" in text for text in shown), shown
    assert any("pip install jupyterlab_widgets" in text for text in shown)
    assert not any("Widgets work" in text for text in shown)
    course.sync(lab.root)
    shown, dirty = lesson_00_outputs(browser, lab, "my-lessons/00_start_here.ipynb")
    assert not dirty, "lesson 00 opens with an unsaved change"
    assert any("✔ Widgets work" in text for text in shown), shown
    assert not any("widgets do not show" in text for text in shown)
    assert any(text.startswith("✔ torch 2.13.0") for t in shown for text in t.splitlines())


def test_without_chromium_the_tests_say_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_chromium()


@pytest.mark.parametrize("lesson", [False, True])
def test_problems_names_what_went_wrong(lesson: bool) -> None:
    def cell(tags, outputs, count=1):
        return {"cell_type": "code", "source": "x", "metadata": {"tags": tags},
                "execution_count": count, "outputs": outputs}  # fmt: skip

    error = {"output_type": "error", "ename": "ValueError"}
    wrong = {"output_type": "stream", "text": "Not yet: Z is off\n"}
    assert problems([cell([], [error])], lesson) == ["cell 'x' raised ['ValueError']"]
    assert problems([cell([], [], count=None)], lesson) == ["cell 'x' did not run"]
    if lesson:
        assert "unfilled stub" in problems([cell(["check"], [wrong])], lesson)[0]
    else:
        assert "not only 'Correct" in problems([cell(["check"], [wrong])], lesson)[0]
        assert "printed nothing" in problems([cell(["check"], [])], lesson)[0]


def test_the_html_worksheet_reads_well_in_a_browser(browser, tmp_path) -> None:
    """The accessible worksheet and its key, opened in Chromium: axe finds no WCAG 2.1 A/AA
    violation, and every answer box is a text box with a name of its own."""
    from axe_playwright_python.sync_playwright import Axe

    from handcalc.worksheet import write_worksheet

    for answers in (False, True):
        path = write_worksheet("sae", 0, gradients=True, answers=answers, as_html=True,
                               out=tmp_path / f"sae-{answers}.html")  # fmt: skip
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        try:
            page.goto(path.as_uri())
            found = Axe().run(page, options=AXE_PAGE).response
            boxes = page.get_by_role("textbox")
            names = [box.get_attribute("aria-label") for box in boxes.all()]
            page.screenshot(path=str(SCREENSHOTS / f"worksheet_html{'_key' * answers}.png"))
        finally:
            page.close()
        assert not found["violations"], [v["id"] for v in found["violations"]]
        assert found["passes"], "axe checked nothing"
        if answers:
            assert not names, "the key has boxes to fill in"
        else:
            assert len(names) > 100 and len(set(names)) == len(names) and all(names), names[:5]
