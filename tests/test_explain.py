"""Worked entries add up to the trace's numbers; hints come in steps and reveal the answer last."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import handcalc as hc
from handcalc.display import matrix_text, number
from handcalc.explain import HINT_LEVELS, explain, hint

SEEDS = range(20)


def evaluate(written: str) -> float:
    """The worked sum as Python arithmetic: · is *, − is -, x² is x**2, √ and ReLU are calls."""
    code = (
        written.replace("·", "*")
        .replace("−", "-")
        .replace("²", "**2")
        .replace("√", "sqrt")
        .replace("ReLU", "relu")
        .replace(", else", " else")
    )
    assert re.fullmatch(r"[0-9.+\-*/() a-z<>=]*", code), f"unexpected text in {written!r}"
    return eval(code, {"__builtins__": {}}, {"sqrt": math.sqrt, "relu": lambda x: max(0, x)})


def entries(value) -> list[tuple[int, int]]:
    shape = np.shape(value)
    if not shape:
        return [(1, 1)]
    return [
        (r + 1, c + 1) for r in range(shape[0]) for c in range(shape[1] if len(shape) > 1 else 1)
    ]


def traces():
    for seed in SEEDS:
        yield hc.autoencoder_trace(hc.autoencoder_problem(seed))
        yield hc.sae_trace(hc.sae_problem(seed))


def test_every_worked_entry_adds_up_to_the_trace() -> None:
    kinds, checked = set(), 0
    for trace in traces():
        for step in trace:
            for row, col in entries(step.output):
                worked = explain(step.name, trace, row, col)
                value = np.asarray(step.output, dtype=float)[
                    (row - 1, col - 1)[: np.ndim(step.output)]
                ]
                assert evaluate(worked.numbers) == pytest.approx(value, abs=1e-9), str(worked)
                assert worked.value == number(value).replace("-", "−"), str(worked)
                checked += 1
            kinds.add(step.kind)
    assert kinds == set(hc.kinds.KINDS), "some kind of step was never worked out"
    assert checked > 10_000


def test_the_worked_entry_reads_as_on_the_sheet() -> None:
    problem = hc.autoencoder_problem(3)
    worked = str(explain("Z1", problem, 2, 2))
    assert worked == (
        "Z1[2, 2] = W1[2, 1]·X[1, 2] + W1[2, 2]·X[2, 2] + W1[2, 3]·X[3, 2] + W1[2, 4]·X[4, 2] "
        "+ b1[2] = (−1)·1 + 1·1 + 0·2 + 1·2 + 0 = 2"
    )
    assert "the ReLU let it through" in str(explain("dZ3", problem, 2, 2))
    assert str(explain("db4", problem, 2)).startswith("db4[2] = dX'[2, 1] + dX'[2, 2]")


def test_rows_and_columns_count_from_one() -> None:
    problem = hc.sae_problem()
    with pytest.raises(ValueError, match="Z has 6 rows, counted from 1; got row=0"):
        explain("Z", problem, 0, 1)
    with pytest.raises(ValueError, match="Z has 5 columns, counted from 1; got col=6"):
        explain("Z", problem, 1, 6)
    with pytest.raises(TypeError, match="row must be a whole number"):
        explain("Z", problem, 1.5, 1)


@pytest.mark.parametrize("which", ["ae", "sae"])
def test_no_hint_before_the_last_gives_the_whole_answer(which: str) -> None:
    for seed in SEEDS:
        trace = (
            hc.autoencoder_trace(hc.autoencoder_problem(seed))
            if which == "ae"
            else hc.sae_trace(hc.sae_problem(seed))
        )
        for step in trace:
            answer = matrix_text(step.output)
            hints = [hint(step.name, trace, level) for level in range(1, HINT_LEVELS + 1)]
            assert answer in hints[-1], f"{step.name}: the last hint is the answer"
            for level, text in enumerate(hints[:-1], start=1):
                if np.size(step.output) > 1:
                    assert answer not in text, f"{step.name}, hint {level} gives the answer"
                else:  # a single number: it may appear as a shape, never as "= value."
                    assert not text.rstrip(".").endswith("= " + answer.strip()), (
                        f"{step.name}, hint {level} gives the answer: {text}"
                    )


def test_hints_say_the_rule_the_shapes_then_one_entry() -> None:
    problem = hc.autoencoder_problem(3)
    assert "dX' H3ᵀ" in hint("dW4", problem, 1)
    assert "H3ᵀ is H3 turned on its side: 4 x 3" in hint("dW4", problem, 2)
    assert "dW4: 4 x 3 (a row per output, a column per input)" in hint("dW4", problem, 2)
    assert hint("dW4", problem, 3).startswith("One entry worked out: dW4[1, 1] = ")
    assert hint("loss", problem, 3).endswith("Now add it up.")
    with pytest.raises(ValueError, match="level must be 1 to 4"):
        hint("dW4", problem, 5)


def test_each_weight_gradient_entry_is_the_slope_of_the_loss() -> None:
    """Lesson 03's claim: nudging W4[i, j] changes the loss at the rate dW4[i, j] (any layer)."""
    problem = hc.autoencoder_problem()
    trace = hc.autoencoder_trace(problem)
    eps = 1e-3
    for k, (W, b) in enumerate(problem.layers, start=1):
        for i, j in np.ndindex(W.shape):
            slopes = []
            for sign in (1, -1):
                changed = W.astype(float)
                changed[i, j] += sign * eps
                layers = [*problem.layers[: k - 1], (changed, b), *problem.layers[k:]]
                slopes.append(
                    hc.autoencoder_trace(hc.AutoencoderProblem(problem.X, layers))["loss"]
                )
            slope = (slopes[0] - slopes[1]) / (2 * eps)
            assert slope == pytest.approx(trace[f"dW{k}"][i, j], abs=1e-6), (k, i, j)
    worked = explain("dW4", problem, 3, 2)
    assert evaluate(worked.numbers) == trace["dW4"][2, 1] == 8  # the entry lesson 03 works out
