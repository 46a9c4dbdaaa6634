"""Every code exercise of the course, tried with the usual slips a learner's function makes.

SLIPS lists, per exercise (the `my_...` function a lesson asks for), slipped versions of that
function as a learner might write them and the words its check must say. A slip called correct,
or a message without its words, fails. Exercises whose check takes the learner's function or a
model (and so needs a language model or a training run) are tried in the tests named in
ELSEWHERE; a `my_...` function in a lesson that is in neither fails the last test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import handcalc as hc
from handcalc import checks

ROOT = Path(__file__).resolve().parent.parent
AE = hc.autoencoder_problem(7)
AE_T = hc.autoencoder_trace(AE)
SAE = hc.sae_problem(3)
SAE_T = hc.sae_trace(SAE)
RNG = np.random.default_rng(5)
F = np.maximum(RNG.normal(size=(6, 40)), 0)
W_DEC = RNG.normal(size=(3, 6))
X = RNG.normal(size=(4, 50)) + np.arange(4)[:, None]
X_HAT = X + 0.3 * RNG.normal(size=(4, 50))
Z = RNG.normal(size=(6, 8))


def relu(z):
    return np.maximum(z, 0)


def linear_step(step: str, names: dict | None = None) -> Callable:
    return lambda answer: hc.check(step, answer, AE, names=names)


def forward(X, layers, last_relu=False, bias=True):
    H = X
    for k, (W, b) in enumerate(layers):
        Z = W @ H + (b[:, None] if bias else 0)
        H = Z if k == len(layers) - 1 and not last_relu else relu(Z)
    return H


def l1_grad(F, W_dec, lam, zeros=True, norms=True):
    lengths = np.sqrt((W_dec**2).sum(axis=0)) if norms else np.ones(W_dec.shape[1])
    return lam * ((F > 0) if zeros else np.ones_like(F)) * lengths[:, None]


# exercise -> (the check, as the lesson calls it on the learner's answer; [(words, answer)])
SLIPS: dict[str, tuple[Callable, list[tuple[str, object]]]] = {
    "my_linear": (
        linear_step("Z1", {"W1": "W", "b1": "b"}),
        [
            ("left out the bias: add b to every column of W X", AE.layers[0][0] @ AE.X),
            ("subtracted the bias", AE.layers[0][0] @ AE.X - AE.layers[0][1][:, None]),
            ("applied the ReLU already", relu(AE_T["Z1"])),
        ],
    ),
    "my_relu": (
        linear_step("H1", {"Z1": "Z"}),
        [
            ("the ReLU", AE_T["Z1"]),
            ("not |z|", np.abs(AE_T["Z1"])),
        ],
    ),
    "my_forward": (
        linear_step("X_hat"),
        [
            ("ReLU", forward(AE.X, AE.layers, last_relu=True)),
            ("", forward(AE.X, AE.layers, bias=False)),  # every bias left out: not named yet
        ],
    ),
    "my_mse_grad": (
        linear_step("dX_hat", {"X_hat": "X_hat"}),
        [
            ("factor 2 is missing", AE_T["X_hat"] - AE.X),
            ("sign", 2 * (AE.X - AE_T["X_hat"])),
        ],
    ),
    "my_linear_backward": (
        linear_step("dW4", {"dX_hat": "dZ", "W4": "W", "H3": "H"}),
        [
            ("You computed H dZᵀ", AE_T["H3"] @ AE_T["dX_hat"].T),
            ("", AE_T["dX_hat"] @ AE_T["H3"].T * 2),
        ],
    ),
    "my_train_step": (
        linear_step("W1_new"),
        [
            ("a step goes against it", AE.layers[0][0] + AE.lr * AE_T["dW1"]),
            ("left out the learning rate", AE.layers[0][0] - AE_T["dW1"]),
        ],
    ),
    "my_decoder_norms": (
        lambda answer: hc.check("norms", answer, SAE),
        [
            ("rows", np.sqrt((SAE.W_dec**2).sum(axis=1))),
            ("square root", (SAE.W_dec**2).sum(axis=0)),
            ("L1", np.abs(SAE.W_dec).sum(axis=0)),
        ],
    ),
    "my_l1_grad": (
        lambda answer: hc.check("l1_grad", answer, SAE),
        [
            ("zeros stay zero", l1_grad(SAE_T["F"], SAE.W_dec, SAE.lam, zeros=False)),
            ("length of its decoder column", l1_grad(SAE_T["F"], SAE.W_dec, SAE.lam, norms=False)),
        ],
    ),
    "my_l0": (
        lambda answer: checks.check_l0(answer, F),
        [("total", float((F != 0).sum())), ("per latent", float((F != 0).sum(axis=1).mean()))],
    ),
    "my_variance_explained": (
        lambda answer: checks.check_variance_explained(answer, X, X_HAT),
        [
            ("single mean", 1 - ((X - X_HAT) ** 2).sum() / ((X - X.mean()) ** 2).sum()),
            ("from the mean", 1 - ((X - X_HAT) ** 2).sum() / (X**2).sum()),
        ],
    ),
    "my_l1_penalty": (
        lambda answer: checks.check_l1_penalty(answer, F, W_DEC, 0.5),
        [
            ("number of samples", 0.5 * (F.sum(1) * np.linalg.norm(W_DEC, axis=0)).sum()),
            ("weighted by the length", 0.5 * F.sum() / 40),
        ],
    ),
    "my_topk": (
        lambda answer: checks.check_topk(answer, Z, 2),
        [
            ("Negative entries kept", np.where(Z >= np.sort(Z, axis=0)[-2], Z, 0.0)),
            ("each row", np.where(Z >= np.sort(Z, axis=1)[:, -2:-1], Z, 0.0) * (Z > 0)),
        ],
    ),
    "my_jumprelu": (
        lambda answer: checks.check_jumprelu(answer, Z, np.full(6, 0.5)),
        [
            ("subtracted the threshold", relu(Z - 0.5)),
            ("That is a ReLU", relu(Z)),
        ],
    ),
}

# Exercises whose check takes a function or a model, or whose slips need a lesson's own data:
# the tests that try their slips.
ELSEWHERE = {
    "my_rotate": "test_superposition.py",
    "my_toy_forward": "test_checks.py::test_issue_26s_misnamed_mistakes_are_named",
    "my_interference": "test_superposition.py",
    "my_toy_loss_and_gradients": "test_checks.py::test_check_toy_gradients_names_its_mistakes",
    "my_sae_sheet": "test_checks.py::test_the_whole_sheet_check_names_a_slip_once_and_carries_it",
    "my_kl": "test_checks.py::test_check_kl_names_its_mistakes",
    "my_sae_gradients": "test_checks.py::test_check_sae_gradients_names_its_mistakes",
    "my_adam_step": "test_checks.py::test_check_adam_step_names_its_mistakes",
    "my_threshold_grad": "test_checks.py::test_threshold_grad_check_names_each_slip",
    "my_resample": "test_checks.py::test_check_resample_names_its_mistakes",
    "my_variance_spectrum": "test_checks.py::test_lesson_08_checks_name_their_mistakes",
    "my_top_contexts": "test_checks.py::test_check_top_contexts_names_its_mistakes",
    "my_logit_effect": "test_checks.py::test_check_logit_effect_names_its_mistakes",
    "my_auroc": "test_checks.py::test_check_auroc_names_its_mistakes",
    "my_precision_recall": "test_checks.py::test_lesson_08_checks_name_their_mistakes",
    "my_specificity_by_band": "test_checks.py::test_lesson_08_checks_name_their_mistakes",
    "my_reading": "test_checks.py::test_check_hypothesis_tests_a_reading_against_the_labels",
    "my_steer": "test_checks.py::test_lesson_09_checks_name_their_mistakes",
    "my_clamp_as_addition": "test_checks.py::test_lesson_09_checks_name_their_mistakes",
    "my_clamp": "test_checks.py::test_check_clamp_change_names_its_mistakes",
    "my_mean_difference": "test_checks.py::test_lesson_09_checks_name_their_mistakes",
    "my_feature_attribution": "test_checks.py::test_check_feature_attribution_names_its_mistakes",
    "my_attribution_patching": "test_circuits.py",
    "my_integrated_gradients": "test_circuits.py",
    "my_normalise": "test_checks.py::test_lesson_11_checks_name_their_mistakes",
    "my_auxk_loss": "test_checks.py::test_lesson_11_checks_name_their_mistakes",
    "my_loss_recovered": "test_checks.py::test_check_loss_recovered_names_its_mistakes",
    "my_sae_parameters": "test_checks.py::test_lesson_11_checks_name_their_mistakes",
    "my_encoder_flops": "test_checks.py::test_lesson_11_checks_name_their_mistakes",
}


@pytest.mark.parametrize("exercise", SLIPS)
def test_every_usual_slip_is_called_wrong_and_named(exercise: str) -> None:
    check, slips = SLIPS[exercise]
    for words, answer in slips:
        verdict = check(answer)
        assert not verdict.correct, f"{exercise}: a slip ({words or 'unnamed'}) is called right"
        if words:
            assert words in verdict.message, (exercise, words, verdict.message)
        else:  # a slip the check cannot name: it says which entries are off, never "Correct"
            assert re.match(r"(One entry is off|\d+ of \d+ entries are off|Not )", verdict.message)


def test_every_code_exercise_of_the_course_is_tried_with_its_slips() -> None:
    lessons = "\n".join(p.read_text() for p in sorted((ROOT / "solutions").glob("*.ipynb")))
    exercises = set(re.findall(r'"def (my_\w+)\(', lessons))
    assert exercises, "no exercise found in the solutions"
    assert not SLIPS.keys() & ELSEWHERE.keys()
    missing = exercises - SLIPS.keys() - ELSEWHERE.keys()
    assert not missing, f"exercises no test tries with their slips: {sorted(missing)}"
    for exercise, where in ELSEWHERE.items():
        path, _, test = where.partition("::")
        source = (ROOT / "tests" / path).read_text()
        assert f"def {test}(" in source if test else exercise[3:] in source, (exercise, where)
