"""The widgets, driven without a browser: type into cells, press buttons, read what they show."""

from __future__ import annotations

import html

import numpy as np
import pytest

import handcalc as hc
from handcalc.display import matrix_text
from handcalc.explain import HINT_LEVELS
from handcalc.widgets import CHOOSE, RIGHT, WRONG, MatrixEntry, TraceViewer, parse_number

SAE = hc.sae_problem()


@pytest.mark.parametrize(
    ("text", "value"), [("3", 3), (" -2 ", -2), ("−2", -2), ("0.66", 0.66), ("7/3", 7 / 3)]
)
def test_numbers_as_learners_type_them(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "1/0", "2..5"])
def test_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def marks(entry: MatrixEntry) -> np.ndarray:
    return np.array([[RIGHT[0] in m.value for m in row] for row in entry.marks])


def test_right_answer_marks_every_cell_right() -> None:
    entry = MatrixEntry("F", SAE)
    entry.fill(hc.sae_trace(SAE)["F"])
    entry.button.click()
    assert marks(entry).all() and "Correct" in entry.feedback.value
    assert entry.cells[0][0].style.background == RIGHT[2]


def test_forgotten_relu_marks_the_negative_cells_and_says_so() -> None:
    entry = MatrixEntry("F", SAE)
    Z = hc.sae_trace(SAE)["Z"]
    entry.fill(Z)
    entry.button.click()
    assert np.array_equal(~marks(entry), Z < 0)  # exactly the cells the ReLU should zero
    assert "forgot the ReLU" in entry.feedback.value
    wrong = np.argwhere(Z < 0)[0]
    assert entry.cells[wrong[0]][wrong[1]].style.background == WRONG[2]
    assert WRONG[0] in entry.marks[wrong[0]][wrong[1]].value


def test_empty_or_garbled_cell_is_named() -> None:
    entry = MatrixEntry("Z", SAE)
    entry.fill(hc.sae_trace(SAE)["Z"])
    entry.cells[1][2].value = "x"
    assert entry.check() is None
    assert "Row 2, column 3 'x' is not a number" in entry.feedback.value


def test_input_error_clears_the_old_marks() -> None:
    entry = MatrixEntry("Z", SAE)
    entry.fill(hc.sae_trace(SAE)["Z"])
    assert entry.check()
    entry.cells[0][0].value = "1,"
    assert entry.check() is None
    assert not any(RIGHT[0] in m.value or WRONG[0] in m.value for row in entry.marks for m in row)


def test_rows_and_columns_are_labelled() -> None:
    entry = MatrixEntry("dW_dec_l1", SAE)
    assert entry.labels == ([f"dim {r}" for r in (1, 2, 3)], [f"feature {c}" for c in range(1, 7)])
    assert "3 x 6: a row per dim, a column per feature" in entry.widget.children[0].value
    entry = MatrixEntry("db4", hc.autoencoder_problem())
    assert entry.labels == ([f"output {r}" for r in (1, 2, 3, 4)], [""])
    assert "4 entries, one per output" in entry.widget.children[0].value


def test_a_wrong_entry_can_be_worked_out() -> None:
    problem = hc.autoencoder_problem(3)
    trace = hc.autoencoder_trace(problem)
    entry = MatrixEntry("dW4", problem)
    assert entry.wrong_entries.layout.display == "none"  # nothing checked yet
    answer = trace["dW4"].copy()
    answer[1, 2] += 1
    entry.fill(answer)
    entry.check()
    assert entry.wrong_entries.layout.display is None
    labels = [text for text, _ in entry.wrong_entries.options]
    assert labels == [CHOOSE, "row 2 (output 2), column 3 (input 3)"]
    assert entry.wrong_entries.label == CHOOSE  # the menu shows its first choice, not a blank
    entry.wrong_entries.value = (2, 3)
    worked = str(hc.explain("dW4", problem, 2, 3))
    assert html.escape(worked) in entry.worked.value
    assert entry.said.text == " ".join(worked.split())  # read out
    assert matrix_text(trace["dW4"]) not in entry.worked.value  # that entry, not the answer
    entry.fill(trace["dW4"])
    entry.check()
    assert entry.wrong_entries.layout.display == "none" and entry.worked.value == ""


def test_hints_come_one_at_a_time_and_the_answer_last() -> None:
    problem = hc.autoencoder_problem(3)
    entry = MatrixEntry("dZ3", problem)
    answer = matrix_text(hc.autoencoder_trace(problem)["dZ3"])
    seen = []
    for level in range(1, HINT_LEVELS + 1):
        assert not entry.hint_button.disabled
        entry.hint_button.click()
        assert entry.hints.value.count("<li") == level
        said = " ".join(hc.hint("dZ3", problem, level).split())
        assert entry.said.text == f"Hint {level} of {HINT_LEVELS}: {said}"  # read out
        seen.append(html.escape(answer) in entry.hints.value)
    assert seen == [False] * (HINT_LEVELS - 1) + [True]
    assert entry.hint_button.description == "No more hints" and not entry.hint_button.disabled
    before = entry.said.text
    entry.hint_button.click()  # keeps the keyboard's focus and changes nothing
    assert entry.hints.value.count("<li") == HINT_LEVELS
    assert entry.said.text.strip() == before.strip() != entry.said.text  # read out again


def test_vectors_are_typed_as_a_column() -> None:
    entry = MatrixEntry("norms", SAE)
    assert (entry.rows, entry.columns) == (6, 1)
    entry.fill(hc.decoder_norms(SAE.W_dec))
    assert entry.check()


def test_fractions_typed_by_hand_are_accepted() -> None:
    entry = MatrixEntry("dW_dec_l1", SAE)
    entry.fill(hc.sae_trace(SAE)["dW_dec_l1"])  # written with thirds, e.g. -10/3
    assert any("/3" in cell.value for row in entry.cells for cell in row)
    assert entry.check()


def test_trace_viewer_steps_back_and_forth() -> None:
    trace = hc.sae_trace(SAE)
    viewer = TraceViewer(trace)
    assert "(the first step)" in viewer.counter.value and "[1] Encoder: linear" in viewer.page.value
    viewer.next.click()
    viewer.next.click()
    assert viewer.counter.value == f"Step 3 of {len(trace)}: X&#x27;"
    assert viewer.said.text == f"Step 3 of {len(trace)}: X'"  # read out
    assert "[3] Decoder" in viewer.page.value
    viewer.back.click()
    assert viewer.position == 1 and "ReLU" in viewer.page.value
    viewer.go(10_000)
    assert viewer.position == len(trace) - 1 and "(the last step)" in viewer.counter.value
    viewer.next.click()  # at the end: stays, and Next keeps the keyboard's focus (not disabled)
    assert viewer.position == len(trace) - 1 and not viewer.next.disabled
    assert not viewer.back.disabled and not any(b.icon for b in (viewer.back, viewer.next))


def test_trace_viewer_on_a_subset_of_steps() -> None:
    trace = hc.autoencoder_trace(hc.autoencoder_problem())
    viewer = TraceViewer(trace, names=["Z1", "H1", "X_hat"])
    viewer.go(2)
    assert "Step 3 of 3: X&#x27; (the last step)" in viewer.counter.value


def test_superposition_slider_redraws_for_the_chosen_sparsity() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from handcalc.superposition import train_toy_model
    from handcalc.widgets import SuperpositionExplorer

    models = [train_toy_model(sparsity=s, steps=1500) for s in (0.0, 0.95)]
    explorer = SuperpositionExplorer(models)
    assert "S = 0: 2 of 5 features" in explorer.text.value  # dense: only 2 kept
    dense_picture = explorer.image.value
    assert (
        dense_picture.startswith('<img src="data:image/png;base64,')
        and 'alt="Figure: ' in dense_picture
    )
    explorer.choice.value = 0.95
    assert explorer.current.sparsity == 0.95
    assert "S = 0.95: 5 of 5 features" in explorer.text.value  # sparse: all 5, a pentagon
    assert explorer.image.value == explorer.pictures[0.95] != dense_picture


def test_gallery_draws_each_page_when_first_shown_and_keeps_it() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handcalc.widgets import Gallery

    drawn = []

    def page(n: int):
        drawn.append(n)
        if n == 2:
            return "<b>2</b> has no figure", None
        figure, ax = plt.subplots()
        ax.set_title(f"page {n}")
        return f"<b>{n}</b>", figure

    gallery = Gallery(range(4), page, "page", value=1)
    assert drawn == [1] and plt.get_fignums() == []  # only the page shown, its figure closed
    assert gallery.text.value == "<b>1</b>" and gallery.said.text == "page 1: 1"
    assert 'alt="Figure: page 1"' in gallery.image.value
    gallery.choice.value = 2
    assert gallery.text.value == "<b>2</b> has no figure"
    assert gallery.said.text == "page 2: 2 has no figure"  # the page's first line, read out
    assert gallery.image.layout.display == "none"
    gallery.choice.value = 3
    assert gallery.image.value == gallery.pictures[3] != gallery.pictures[1]
    assert gallery.image.layout.display is None
    gallery.choice.value = 1
    assert drawn == [1, 2, 3] and plt.get_fignums() == []  # page 1 was kept, not drawn again


@pytest.fixture
def answers_file(tmp_path, monkeypatch):
    path = tmp_path / "handcalc_answers.json"
    monkeypatch.setenv("HANDCALC_ANSWERS", str(path))
    return path


def test_typed_answers_come_back_in_a_new_grid(answers_file) -> None:
    """As after a kernel restart: the grid is made again and the learner's typing is back."""
    problem = hc.autoencoder_problem(3)
    entry = MatrixEntry("dW4", problem)
    entry.cells[0][0].value = "7/3"
    entry.cells[2][1].value = "-4"
    assert answers_file.exists()
    again = MatrixEntry("dW4", hc.autoencoder_problem(3))  # a fresh object, the same problem
    assert again.cells[0][0].value == "7/3" and again.cells[2][1].value == "-4"
    assert "are back" in again.feedback.value
    assert MatrixEntry("dW4", hc.autoencoder_problem(4)).texts() == [[""] * 3] * 4  # another
    assert MatrixEntry("db4", problem).texts() == [[""]] * 4  # another step


def test_a_broken_answers_file_starts_afresh(answers_file) -> None:
    answers_file.write_text("not json")
    entry = MatrixEntry("F", SAE)
    entry.cells[0][0].value = "1"
    assert '"1"' in answers_file.read_text()


def test_keeping_answers_can_be_switched_off(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HANDCALC_ANSWERS", "")
    monkeypatch.chdir(tmp_path)
    MatrixEntry("F", SAE).cells[0][0].value = "1"
    assert list(tmp_path.iterdir()) == []


def test_the_grid_says_when_the_lesson_moved_to_another_problem(monkeypatch) -> None:
    namespace = {"mine": hc.autoencoder_problem(3)}
    monkeypatch.setattr("handcalc.widgets._user_namespace", lambda: namespace)
    entry = MatrixEntry("dZ3", namespace["mine"])
    assert "Problem: seed 3." in entry.widget.children[0].value
    entry.fill(hc.autoencoder_trace(namespace["mine"])["dZ3"])
    assert entry.check()
    namespace["mine"] = hc.autoencoder_problem(3)  # the seed cell run again, same seed
    assert entry.check()
    namespace["mine"] = hc.autoencoder_problem(5)  # the learner changed the seed
    assert entry.check() is None
    said = html.unescape(entry.feedback.value)
    assert "mine is now another problem (seed 5)" in said
    assert "Run this grid's cell again" in said
    assert not any(RIGHT[0] in m.value for row in entry.marks for m in row)


def test_the_grid_shows_what_goes_in_as_it_enters() -> None:
    entry = MatrixEntry("dW4", hc.autoencoder_problem())
    heading = entry.widget.children[0].value
    assert "Show what goes in: dX&#x27;, H3ᵀ" in heading and "H3ᵀ (4 x 3)" in heading


def test_a_saved_notebook_shows_a_line_where_a_widget_was() -> None:
    from handcalc.saving import WIDGET_VIEW, drop_widget_views

    entry = MatrixEntry("dW4", hc.autoencoder_problem(3))
    bundle = entry._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"] == (
        "Answer grid for dW4 (seed 3). Run this cell to get your grid and your answers back."
    )
    output = {"output_type": "display_data", "data": dict(bundle), "metadata": {}}
    markdown = {"cell_type": "markdown", "source": "x"}
    model = {
        "type": "notebook",
        "content": {"cells": [markdown, {"cell_type": "code", "outputs": [output]}]},
    }
    drop_widget_views(model)
    assert output["data"] == {"text/plain": bundle["text/plain"]}
    drop_widget_views({"type": "file", "content": "text"})  # other files: left alone


def test_the_step_viewer_shows_transposed_operands_transposed() -> None:
    trace = hc.autoencoder_trace(hc.autoencoder_problem())
    viewer = TraceViewer(trace, names=["dW4"])
    assert "H3ᵀ (4 x 3)" in viewer.page.value and "H3 (3 x 4)" not in viewer.page.value
    assert "Step-by-step viewer" in viewer._repr_mimebundle_()["text/plain"]


def test_every_grid_box_is_named_for_a_screen_reader_with_its_verdict_after_check() -> None:
    problem = hc.autoencoder_problem(3)
    entry = MatrixEntry("dW4", problem)
    names = [box.description for row in entry.cells for box in row]
    assert names[0] == "dW4, row 1 of 4 (output 1), column 1 of 3 (input 1)"
    assert names[-1] == "dW4, row 4 of 4 (output 4), column 3 of 3 (input 3)"
    assert len(set(names)) == entry.rows * entry.columns
    right = hc.autoencoder_trace(problem)["dW4"]
    for r in range(entry.rows):
        for c in range(entry.columns):
            entry.cells[r][c].value = str(right[r, c] + (1 if (r, c) == (0, 1) else 0))
    entry.check()
    assert entry.cells[0][1].description.endswith("column 2 of 3 (input 2): wrong")
    assert entry.cells[0][0].description.endswith("column 1 of 3 (input 1): right")
    assert "aria-label='wrong'" in entry.marks[0][1].value
    assert MatrixEntry("loss", problem).cells[0][0].description == "L"


def test_checks_verdict_is_read_out_by_the_widgets_one_live_region() -> None:
    entry = MatrixEntry("Z1", hc.autoencoder_problem(3))
    region = entry.said
    entry.fill(hc.autoencoder_trace(hc.autoencoder_problem(3))["Z1"])
    entry.check()
    assert "Correct" in entry.feedback.value and entry.said.text.startswith("Correct")
    assert "aria-label='right'" in entry.feedback.value  # the ✔ has words
    entry.cells[0][1].value = "99"
    entry.check()
    assert entry.said.text.startswith("Wrong. One entry is off: row 1 (unit 1)")
    assert "aria-label='wrong'" in entry.feedback.value
    entry.cells[0][0].value = "<b>x"
    entry.check()
    assert "&lt;b&gt;x" in entry.feedback.value and "<b>x" not in entry.feedback.value
    assert entry.said.text == "Row 1, column 1 '<b>x' is not a number (write 3, -2, 0.5 or 7/3)."
    assert entry.said is region and region in entry.widget.children  # one, kept
    assert not any(button.icon for button in (entry.button, entry.hint_button))


def test_a_figure_shown_in_a_notebook_carries_its_titles_as_alt_text() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handcalc.figures import alt_text, figure_html

    figure, (left, right) = plt.subplots(1, 2)
    left.set_title("Loss <by step>")
    right.set_title("Firing frequency")
    figure.suptitle("Training")
    assert alt_text(figure) == "Figure: Training; Loss <by step>; Firing frequency"
    shown = figure_html(figure)
    assert shown.startswith('<img src="data:image/png;base64,')
    assert shown.endswith('alt="Figure: Training; Loss &lt;by step&gt;; Firing frequency">')
    plt.close(figure)


def test_every_course_widget_says_so_when_the_kernel_restarts() -> None:
    """Each widget's box carries the classes the restart style sheet reads, and the sheet itself;
    a grid's marks and verdict are the parts it hides."""
    from handcalc.announcer import Announcer
    from handcalc.widgets import RESTART_GRID, STYLE, Gallery

    problem = hc.autoencoder_problem()
    grid = MatrixEntry("Z1", problem)
    viewer = TraceViewer(hc.autoencoder_trace(problem))
    gallery = Gallery([1, 2], lambda option: (f"page {option}", None), "page")
    for widget, kind in ((grid, "handcalc-grid"), (viewer, ""), (gallery, "handcalc-gallery")):
        assert "handcalc-widget" in widget.widget._dom_classes
        assert not kind or kind in widget.widget._dom_classes
        style = widget.widget.children[-1]
        assert sum(isinstance(c, Announcer) for c in widget.widget.children) == 1
        assert style.value == f"<style>{STYLE}</style>" and style.layout.display == "none"
    assert f'content: "{RESTART_GRID}"' in STYLE and '"' not in RESTART_GRID
    assert all("handcalc-mark" in m._dom_classes for row in grid.marks for m in row)
    assert "handcalc-verdict" in grid.feedback._dom_classes


def test_a_figure_can_say_what_it_shows_in_its_alt_text() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handcalc.figures import alt_text, describe, figure_html

    figure, ax = plt.subplots()
    ax.set_title("Loss")
    assert describe(figure, "It falls from 3.1 to 0.2.") is figure
    assert alt_text(figure) == "Figure: Loss. It falls from 3.1 to 0.2."
    assert 'alt="Figure: Loss. It falls from 3.1 to 0.2."' in figure_html(figure)
    plt.close(figure)
