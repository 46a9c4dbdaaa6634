"""Traces read like the worksheets, as text and as notebook HTML."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

import handcalc as hc
from handcalc.display import label, matrix_text, number


@pytest.mark.parametrize(
    ("value", "written"),
    [(3.0, "3"), (-0.0, "0"), (-2.5, "-2.5"), (0.66, "0.66"), (7 / 3, "7/3"), (-10 / 3, "-10/3"),
     (1.9666666666666668, "1.9667"), (np.float64(12), "12")],
)  # fmt: skip
def test_numbers_are_written_as_by_hand(value: float, written: str) -> None:
    assert number(value) == written


def test_matrix_text_aligns_columns() -> None:
    assert matrix_text(np.array([[1, -10], [100, 2]])) == "[   1  -10 ]\n[ 100    2 ]"


@pytest.mark.parametrize("make", [hc.autoencoder_trace, hc.sae_trace])
def test_text_shows_every_step_with_its_formula(make) -> None:
    problem = hc.autoencoder_problem() if make is hc.autoencoder_trace else hc.sae_problem()
    trace = make(problem)
    text = str(trace)
    for step in trace:
        assert f"{step.title}  -> {label(step.name)}" in text and step.formula in text


def test_sae_text_shows_the_sheet_numbering_and_partial_step() -> None:
    trace = hc.sae_trace(hc.sae_problem())
    text = str(trace)
    titles = [step.title for step in trace][:10]
    assert [re.match(r"\[(\d+)\]", t).group(1) for t in titles] == [str(k) for k in range(1, 11)]
    # step [6] fills only the positive entries: the rest show as blanks
    step6 = text[text.index("[6]") : text.index("[7]")]
    assert step6.count("·") == int((trace["F"] == 0).sum())


def test_html_has_a_grid_per_given_and_per_step_output() -> None:
    trace = hc.autoencoder_trace(hc.autoencoder_problem())
    page = trace._repr_html_()
    for step in trace:
        name = html.escape(label(step.name))
        assert f"{name} (" in page or f">{name}<" in page
    assert page.count("<table") >= len(trace) + len(trace.given)


def test_trace_lookup() -> None:
    trace = hc.sae_trace(hc.sae_problem())
    assert trace.names[:3] == ["Z", "F", "X_hat"]
    assert np.array_equal(trace["X"], hc.sae_problem().X)  # givens are there too
    assert "dW_enc" in trace and "nonsense" not in trace
    assert trace.step("F").inputs == ("Z",)
    assert len(trace) == len(trace.names)


def test_show_prints_the_sheet_way(capsys) -> None:
    hc.show(np.array([[2.0, -1.0], [0.5, 7 / 3]]), "M")
    assert capsys.readouterr().out == "M (2 x 2) =\n  [   2   -1 ]\n  [ 0.5  7/3 ]\n"


def test_missing_labels_names_each_untitled_plot_and_unlabelled_axis() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handcalc.figures import describe
    from handcalc.plots import missing_labels

    fig, (left, right, graph) = plt.subplots(1, 3, sharey=True)
    describe(fig, "The loss falls.")
    left.plot([0, 1], [1, 0])
    left.set(title="Loss", xlabel="step")
    right.imshow([[0, 1], [1, 0]])
    fig.colorbar(right.images[0], ax=right)  # a colour bar needs no title or label
    graph.axis("off")  # drawn without axes: nothing to label
    assert missing_labels(fig) == [
        "Loss: the y axis has no label",
        "plot 2 of 4: no title",
        "plot 2 of 4: the x axis has no label",  # its y tick labels are hidden: shared with Loss
    ]
    right.set(xlabel="column")
    left.set_ylabel("loss")
    fig.suptitle("Training")  # the figure's title covers plots without their own
    assert missing_labels(fig) == []
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.set(title="Loss", xlabel="step", ylabel="loss")
    assert missing_labels(fig) == ["the figure does not say what it shows (describe)"]
    plt.close(fig)
    assert missing_labels(plt.figure()) == []  # no plot on it (a worksheet's page)
    plt.close("all")


def test_no_step_repeats_its_heading_in_its_formula() -> None:
    """The viewer writes "title: formula"; the formula must not start by saying the title again
    (it once read "sparsity part: sparsity part, column i = ...")."""
    import handcalc as hc

    for trace in (hc.autoencoder_trace(hc.autoencoder_problem()), hc.sae_trace(hc.sae_problem())):
        for step in trace:
            last = step.title.split(": ")[-1].lower()
            assert not step.formula.lower().startswith(last), (step.title, step.formula)
