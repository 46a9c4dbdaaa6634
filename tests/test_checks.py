"""Each usual mistake, fed to check(), gets its own message; right answers are called right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import handcalc as hc
from handcalc.checks import check
from handcalc.display import label

ROOT = Path(__file__).resolve().parent.parent
AE = hc.autoencoder_problem()
SAE = hc.sae_problem()
ae, sae = hc.autoencoder_trace(AE), hc.sae_trace(SAE)


@pytest.mark.parametrize(
    ("step", "problem"), [(n, AE) for n in ae.names] + [(n, SAE) for n in sae.names]
)
def test_the_right_answer_is_called_right(step: str, problem) -> None:
    trace = hc.autoencoder_trace(problem) if problem is AE else hc.sae_trace(problem)
    feedback = check(step, trace[step], problem)
    assert feedback and feedback.message == f"Correct: that is {label(step)}."


def test_right_answers_as_lists_ints_and_negative_zero() -> None:
    assert check("Z1", ae["Z1"].tolist(), AE)
    assert check("Z1", ae["Z1"].astype(int), AE)
    assert check("H1", [[-0.0 if v == 0 else v for v in row] for row in ae["H1"].tolist()], AE)
    assert check("norms", [[v] for v in sae["norms"]], SAE)  # a vector typed as a column


def test_four_decimals_count_as_right_fewer_say_rounded() -> None:
    problem = hc.sae_problem(2)  # its decoder gradient has thirds
    exact = hc.sae_trace(problem)["dW_dec_l1"]
    assert any(abs(v * 3 - round(v * 3)) < 1e-9 and v != round(v) for v in exact.flat)
    assert check("dW_dec_l1", np.round(exact, 4), problem)
    for decimals in (1, 2, 3):
        feedback = check("dW_dec_l1", np.round(exact, decimals), problem)
        assert feedback.mistake == "rounded" and "7/3" in feedback.message, feedback
        assert f"cut to {decimals} decimal" in feedback.message
    cut = np.trunc(exact * 1e4) / 1e4  # 2.6666 for 8/3: cut off, not rounded
    assert check("dW_dec_l1", cut, problem).mistake == "rounded"


def message(step: str, answer, problem) -> str:
    feedback = check(step, answer, problem)
    assert not feedback, f"{step}: a wrong answer was accepted"
    return feedback.message


def test_transposed() -> None:
    assert message("Z1", ae["Z1"].T, AE).startswith("Transposed")
    assert message("H1", ae["H1"].T, AE).startswith("Transposed")


def test_transposed_square_matrix() -> None:
    assert message("X_hat", ae["X_hat"].T, AE).startswith("Transposed")  # 4x4: same shape


def test_wrong_shape() -> None:
    assert message("Z1", np.zeros((2, 2)), AE) == (
        "Wrong shape: Z1 has shape (3, 4); your answer has shape (2, 2)."
    )


def test_bias_forgotten() -> None:
    W, H, b = ae["W2"], ae["H1"], ae["b2"]
    assert "left out the bias" in message("Z2", W @ H, AE)
    assert "left out the bias" in message("Z", SAE.W_enc @ SAE.X, SAE)
    assert "left out the bias" in message("X_hat", SAE.W_dec @ sae["F"], SAE)
    assert not np.array_equal(W @ H, W @ H + b[:, None])  # the canonical bias is not all zero


def test_relu_forgotten() -> None:
    assert "forgot the ReLU" in message("H1", ae["Z1"], AE)
    assert "forgot the ReLU" in message("F", sae["Z"], SAE)


def test_relu_applied_too_early() -> None:
    assert "applied the ReLU already" in message("Z3", hc.relu(ae["Z3"]), AE)


def test_relu_on_the_output_layer() -> None:
    assert "output layer has no ReLU" in message("X_hat", hc.relu(ae["X_hat"]), AE)


def test_factor_two_missing() -> None:
    assert "factor 2 is missing" in message("dX_hat", ae["X_hat"] - ae["X"], AE)


def test_gradient_sign_flipped() -> None:
    assert "sign is flipped" in message("dX_hat", 2 * (sae["X"] - sae["X_hat"]), SAE)


def test_mean_instead_of_sum() -> None:
    assert "a mean" in message("dX_hat", 2 * (ae["X_hat"] - ae["X"]) / 16, AE)
    assert "mean of the squared errors" in message("loss", ae["loss"] / 16, AE)


def test_squared_the_sum_instead_of_summing_squares() -> None:
    assert "Square each error" in message(
        "mse_loss", float((sae["X_hat"] - sae["X"]).sum() ** 2), SAE
    )


def test_one_sample_wrong() -> None:
    answer = ae["Z2"].copy()
    answer[:, 2] += [1, -1]
    assert message("Z2", answer, AE) == (
        "Column 3 (sample 3) is wrong; the other columns are right. Redo that sample."
    )


def test_columns_that_are_not_samples_are_not_called_samples() -> None:
    answer = ae["dW2"].copy()  # 2 outputs x 3 inputs: its columns are inputs
    answer[:, 1] += 1
    assert "sample" not in message("dW2", answer, AE)
    answer = ae["dW1"].copy()
    answer[0] += 1
    assert message("dW1", answer, AE) == (
        "Row 1 (output 1) is wrong; the other rows are right. Redo that row."
    )


def test_one_entry_wrong_is_named_by_row_and_column() -> None:
    answer = sae["norms"].copy()
    answer[4] = 7
    assert message("norms", answer, SAE) == (
        "One entry is off: row 5 (feature 5), where you wrote 7. Work that entry out again."
    )
    answer = ae["Z1"].copy()  # a grid with several columns
    answer[1, 2] += 5
    assert message("Z1", answer, AE).startswith(
        "One entry is off: row 2 (unit 2), column 3 (sample 3), where you wrote"
    )


def test_norms_of_rows() -> None:
    assert "lengths of the rows" in message("norms", np.sqrt((SAE.W_dec**2).sum(axis=1)), SAE)


def test_l1_norm_instead_of_l2() -> None:
    assert "L1 length" in message("norms", np.abs(SAE.W_dec).sum(axis=0), SAE)


def test_forgot_the_square_root() -> None:
    assert "square root" in message("norms", (SAE.W_dec**2).sum(axis=0), SAE)


def test_minus_one_for_positive_f() -> None:
    assert "direction" in message("l1_grad_pos", -sae["l1_grad_pos"], SAE)
    assert "direction" in message("l1_grad", -sae["l1_grad"], SAE)


def test_zero_feature_given_a_gradient() -> None:
    answer = sae["l1_grad"].copy()
    answer[sae["F"] == 0] = 1
    assert "zeros stay zero" in message("l1_grad", answer, SAE)


def test_forgot_to_multiply_by_the_norms() -> None:
    assert "length of its decoder column" in message("l1_grad", np.sign(sae["F"]), SAE)


def test_all_signs_flipped() -> None:
    assert "signs are flipped" in message("dW_enc", -sae["dW_enc"], SAE)


def test_many_entries_wrong_are_listed() -> None:
    feedback = check("dW1", np.zeros((3, 4)) + 100, AE)
    assert feedback.message.startswith(
        "12 of 12 entries are off: row 1 (output 1), column 1 (input 1): you wrote 100; "
    )
    assert feedback.message.endswith("; and 6 more.")
    assert feedback.right is not None and not feedback.right.any()


def test_checks_accept_a_trace_and_refuse_other_things() -> None:
    assert check("F", sae["F"], sae)
    with pytest.raises(TypeError, match="problem must be a problem"):
        check("F", sae["F"], {"F": 1})


def test_unknown_step() -> None:
    with pytest.raises(KeyError, match="no step or given value named 'Z9'"):
        check("Z9", [[1]], AE)


def test_compare_works_on_any_array() -> None:
    from handcalc.checks import compare

    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compare(expected, expected, "WᵀW")
    assert compare(expected.T, expected).message.startswith("Transposed")
    assert compare(-expected, expected).message.startswith("The signs are flipped")
    assert compare(np.zeros(3), expected, "WᵀW").message == (
        "Wrong shape: WᵀW has shape (2, 2); your answer has 3 entries."
    )


def test_check_kl_names_its_mistakes() -> None:
    from handcalc.checks import check_kl
    from handcalc.kl import bernoulli_kl

    rho, r = 0.05, np.array([0.01, 0.05, 0.2, 0.6])
    assert check_kl(bernoulli_kl(rho, r), rho, r).message == (
        "Correct: that is KL(rho || r) for each latent."
    )
    swapped = r * np.log(r / rho) + (1 - r) * np.log((1 - r) / (1 - rho))
    assert check_kl(swapped, rho, r).message.startswith("The two coins are swapped")
    first_term = rho * np.log(rho / r)
    assert check_kl(first_term, rho, r).message.startswith("Only the first term")
    assert check_kl(bernoulli_kl(rho, r).sum(), rho, r).message.startswith("Wrong shape")


def test_check_topk_names_its_mistakes() -> None:
    from handcalc.checks import check_topk

    Z = np.array([[3.0, -1.0, 0.5], [2.0, -2.0, 4.0], [-1.0, -3.0, 1.0]])
    right = np.array([[3.0, 0, 0], [2.0, 0, 4.0], [0, 0, 1.0]])  # k = 2 per column
    assert check_topk(right, Z, 2).message == "Correct: that is TopK(Z, 2)."
    negatives_kept = np.array([[3.0, -1.0, 0], [2.0, -2.0, 4.0], [0, 0, 1.0]])
    assert check_topk(negatives_kept, Z, 2).message.startswith("Negative entries kept")
    Z = np.array([[5.0, 1.0], [4.0, 2.0], [0.5, 3.0]])  # k = 1: per column 5 and 3
    per_row = np.array([[5.0, 0], [4.0, 0], [0, 3.0]])
    assert check_topk(per_row, Z, 1).message.startswith("You kept the k largest of each row")


def test_check_top_contexts_names_its_mistakes() -> None:
    from handcalc.checks import check_top_contexts

    a = np.array([0.5, 3.0, 0.0, 2.0, 1.0])
    assert check_top_contexts([1, 3, 4], a, 3).message == "Correct: that is the top 3 tokens."
    assert check_top_contexts([2, 0, 4], a, 3).message.startswith("Those are the k smallest")
    assert check_top_contexts([3.0, 2.0, 1.0], a, 3).message.startswith("Those are the activations")
    assert check_top_contexts([4, 3, 1], a, 3).message.startswith("The right k tokens, but")


def test_check_logit_effect_names_its_mistakes() -> None:
    from handcalc.checks import check_logit_effect

    rng = np.random.default_rng(0)
    d, W_U, gain = rng.normal(size=4), rng.normal(size=(6, 4)), rng.uniform(0.5, 2, size=4)
    right = W_U @ (gain * (d - d.mean()))
    assert check_logit_effect(right, d, W_U, gain)
    assert check_logit_effect(W_U @ (d - d.mean()), d, W_U, gain).message.startswith(
        "You left out the layer norm's gain"
    )
    assert check_logit_effect(W_U @ (gain * d), d, W_U, gain).message.startswith(
        "You left out the centring"
    )
    assert check_logit_effect(W_U @ d, d, W_U, gain).message.startswith("You left out both")


def test_check_feature_attribution_names_its_mistakes() -> None:
    from handcalc.checks import check_feature_attribution

    f, W_dec, readout = (
        np.array([0.0, 2.0, 1.0]),
        np.array([[1.0, 0, 2], [0, 1, 1]]),
        np.array([3.0, -1]),
    )
    right = f * (W_dec.T @ readout)  # (0, -2, 5)
    assert check_feature_attribution(right, f, W_dec, readout)
    gradient = W_dec.T @ readout
    assert check_feature_attribution(gradient, f, W_dec, readout).message.startswith(
        "That is the gradient dm/df alone"
    )
    lengths = f * np.sqrt((W_dec**2).sum(axis=0))
    assert check_feature_attribution(lengths, f, W_dec, readout).message.startswith(
        "That is activation x the decoder column's length"
    )
    assert check_feature_attribution(-right, f, W_dec, readout).message.startswith("The signs")


def test_missing_transpose_going_back_is_named_when_the_shapes_allow_it() -> None:
    rng = np.random.default_rng(0)
    layers = [(rng.integers(-3, 4, (4, 4)), rng.integers(-3, 4, 4)) for _ in range(2)]
    problem = hc.AutoencoderProblem(rng.integers(-3, 4, (4, 4)), layers)
    trace = hc.autoencoder_trace(problem)
    W2, dX = np.asarray(layers[1][0], float), trace["dX_hat"]
    assert not np.allclose(W2 @ dX, W2.T @ dX)
    feedback = check("dH1", W2 @ dX, problem)
    assert feedback.mistake == "input_grad.arrangement"
    assert "You computed W2 dX', but dH1 = W2ᵀ dX'" in feedback.message


def test_check_sae_gradients_names_its_mistakes() -> None:
    from handcalc.backward import l1_decoder_grad
    from handcalc.checks import check_sae_gradients
    from handcalc.sae import planted_features
    from handcalc.trainer import Penalty, init_sae, numpy_gradients

    data = planted_features(d=8, n_true=16, n_samples=64, active=2, seed=0)
    sae, X, lam = init_sae(data.X, 12, seed=0), data.X, 0.3
    loss, grads, F, _ = numpy_gradients(sae, X, Penalty(lam=lam))
    n = X.shape[1]
    assert all(check_sae_gradients((loss, grads), sae, X, lam))
    summed = {name: g * n for name, g in grads.items()}
    verdicts = check_sae_gradients((loss * n, summed), sae, X, lam)
    assert all(v.mistake is not None and v.mistake.startswith("sae_gradients") for v in verdicts)
    assert "averages it over the batch" in verdicts[0].message
    half = dict(grads, W_dec=grads["W_dec"] - l1_decoder_grad(F, sae.W_dec, lam) / n)
    assert "two parts" in check_sae_gradients((loss, half), sae, X, lam)[3].message
    Z = sae.W_enc @ X + sae.b_enc[:, None]
    dX = 2 * (sae.W_dec @ F + sae.b_dec[:, None] - X) / n
    dF = sae.W_dec.T @ dX + lam * np.linalg.norm(sae.W_dec, axis=0)[:, None] * (Z > 0) / n
    unmasked = dict(grads, W_enc=dF @ X.T)
    assert "mask" in check_sae_gradients((loss, unmasked), sae, X, lam)[1].message
    assert "Return two things" in check_sae_gradients(grads, sae, X, lam)[0].message


def test_check_adam_step_names_its_mistakes() -> None:
    from handcalc.checks import check_adam_step

    p, g, m, v, t, lr = (
        np.array([1.0, -2.0]),
        np.array([0.3, -4.0]),
        np.zeros(2),
        np.zeros(2),
        1,
        0.1,
    )
    m2, v2 = 0.1 * g, 0.001 * g * g
    right = p - lr / 0.1 * m2 / (np.sqrt(v2) / np.sqrt(0.001) + 1e-8)
    assert check_adam_step((right, m2, v2), p, g, m, v, t, lr)
    no_correction = p - lr * m2 / (np.sqrt(v2) + 1e-8)
    assert "bias correction" in check_adam_step((no_correction, m2, v2), p, g, m, v, t, lr).message
    by_v = p - lr / 0.1 * m2 / (v2 / 0.001 + 1e-8)
    assert "square root of v" in check_adam_step((by_v, m2, v2), p, g, m, v, t, lr).message
    assert "running average m" in check_adam_step((right, g, v2), p, g, m, v, t, lr).message


def test_check_torch_sae_names_its_mistakes() -> None:
    import torch
    from torch import nn

    from handcalc.checks import check_torch_sae
    from handcalc.sae import planted_features
    from handcalc.trainer import init_sae

    class Right(nn.Module):
        def __init__(self, d, m):
            super().__init__()
            self.encoder, self.decoder = nn.Linear(d, m), nn.Linear(m, d)

        def forward(self, x):
            f = torch.relu(self.encoder(x))
            return self.decoder(f), f

        def loss(self, x, lam):
            x_hat, f = self(x)
            norms = torch.linalg.vector_norm(self.decoder.weight, dim=0)
            return (((x_hat - x) ** 2).sum() + lam * (f * norms).sum()) / x.shape[0]

    class NoRelu(Right):
        def forward(self, x):
            f = self.encoder(x)
            return self.decoder(f), f

    class Seed000(Right):
        def loss(self, x, lam):
            x_hat, f = self(x)
            return ((x_hat - x) ** 2).sum() / x.shape[0] + lam * f.abs().mean()

    class NoLengths(Right):
        def loss(self, x, lam):
            x_hat, f = self(x)
            return (((x_hat - x) ** 2).sum() + lam * f.sum()) / x.shape[0]

    data = planted_features(d=8, n_true=16, n_samples=64, active=2, seed=0)
    sae = init_sae(data.X, 12, seed=0)
    sae.b_enc[:] = -0.05
    sae.W_dec *= np.linspace(0.5, 2, 12)  # decoder columns of different lengths
    assert all(check_torch_sae(Right, sae, data.X, 0.3))
    assert "left out the ReLU" in check_torch_sae(NoRelu, sae, data.X, 0.3)[1].message
    said = check_torch_sae(Seed000, sae, data.X, 0.3)[2].message
    assert "the penalty some introductions use" in said
    verdicts = check_torch_sae(NoLengths, sae, data.X, 0.3)
    assert "decoder lengths" in verdicts[2].message and "fix those first" in verdicts[-1].message


def _my_resample(direction="residual", order="worst", unit=True, factor="alive", bias=True):
    """A learner's resample, written from the lesson's description, with one slip switchable."""

    def resample_fn(sae, dead, X, X_hat):
        vectors = {"residual": X - X_hat, "input": X, "negative": X_hat - X}[direction]
        errors = ((X - X_hat) ** 2).sum(axis=0)
        ranked = np.argsort(-errors) if order == "worst" else np.argsort(errors)
        picked = vectors[:, [ranked[i % len(ranked)] for i in range(len(dead))]]
        if unit:
            picked = picked / np.linalg.norm(picked, axis=0)
        alive = [i for i in range(sae.b_enc.size) if i not in set(dead)]
        rows = sae.W_enc if factor == "all" else sae.W_enc[alive]
        scale = {"alive": 0.2, "all": 0.2, "none": None}[factor]
        sae.W_dec[:, dead] = picked
        sae.W_enc[dead] = (
            picked.T if scale is None else scale * np.linalg.norm(rows, axis=1).mean() * picked.T
        )
        if bias:
            sae.b_enc[dead] = 0.0

    return resample_fn


def test_check_resample_names_its_mistakes() -> None:
    from handcalc.checks import check_resample
    from handcalc.sae import planted_features
    from handcalc.trainer import init_sae

    data = planted_features(d=8, n_true=12, n_samples=64, active=2, seed=1)
    sae = init_sae(data.X, 16, seed=2)
    sae.W_enc *= np.linspace(0.5, 2, 16)[:, None]  # rows of different lengths: alive ones matter
    sae.b_enc[:] = -1.0
    dead = np.array([1, 5, 6, 12])
    X_hat = sae.decode(sae.encode(data.X))

    def messages(fn) -> list[str]:
        return [v.message for v in check_resample(fn, sae, dead, data.X, X_hat)]

    assert all(check_resample(_my_resample(), sae, dead, data.X, X_hat))
    assert "Anthropic's recipe" in messages(_my_resample(direction="input"))[0]
    assert "not x' − x" in messages(_my_resample(direction="negative"))[0]
    assert "best reconstructed" in messages(_my_resample(order="best"))[0]
    assert "unit length" in messages(_my_resample(unit=False))[0]
    assert "fix the decoder first" in messages(_my_resample(unit=False))[1]
    assert "left out that factor" in messages(_my_resample(factor="none"))[1]
    assert "*alive*" in messages(_my_resample(factor="all"))[1]
    assert "set it to 0" in messages(_my_resample(bias=False))[2]

    def everyone(sae, dead, X, X_hat):
        _my_resample()(sae, dead, X, X_hat)
        sae.b_enc[0] = 0.0

    assert "alive" in messages(everyone)[0]


def test_lesson_08_checks_name_their_mistakes() -> None:
    from handcalc.checks import (
        check_precision_recall,
        check_specificity,
        check_variance_spectrum,
    )

    rng = np.random.default_rng(3)
    a = np.maximum(rng.normal(size=400), 0)
    holds = (a > 0.8) | (rng.random(400) < 0.1)
    fires = a > 0
    precision = (fires & holds).sum() / fires.sum()
    recall = (fires & holds).sum() / holds.sum()
    assert check_precision_recall((precision, recall), a, holds)
    assert "swapped" in check_precision_recall((recall, precision), a, holds).message
    share = (fires & holds).mean()
    assert "all the tokens" in check_precision_recall((share, share), a, holds).message
    everywhere = ((a >= 0) & holds).sum()
    at_zero = (everywhere / a.size, everywhere / holds.sum())
    assert "above 0" in check_precision_recall(at_zero, a, holds).message

    band = np.minimum((a / a.max() * 4).astype(int), 3)
    right = [holds[fires & (band == b)].mean() for b in range(4)]
    assert check_specificity(right, a, holds, 4)
    order = np.argsort(a[fires], kind="stable")
    quantiles = [part.mean() for part in np.array_split(holds[fires][order], 4)]
    assert "equal numbers of tokens" in check_specificity(quantiles, a, holds, 4).message
    assert "same" in check_specificity([precision] * 4, a, holds, 4).message
    sparse = np.array([0.0, 1.0, 0.95, 0.1])  # bands 2 and 3 are empty
    message = check_specificity([1.0, 0.0, 0.0, 0.5], sparse, np.array([1, 0, 1, 0], bool), 4)
    assert "nan" in message.message and not message

    X = rng.normal(size=(5, 50)) * np.array([[5], [3], [1], [0.5], [0.1]]) + 2
    power = np.linalg.svd(X - X.mean(axis=1, keepdims=True), compute_uv=False) ** 2
    assert check_variance_spectrum(np.cumsum(power) / power.sum(), X)
    assert (
        "square them"
        in check_variance_spectrum(np.cumsum(np.sqrt(power)) / np.sqrt(power).sum(), X).message
    )
    assert "np.cumsum" in check_variance_spectrum(power / power.sum(), X).message
    raw = np.linalg.svd(X, compute_uv=False) ** 2
    assert "Centre X" in check_variance_spectrum(np.cumsum(raw) / raw.sum(), X).message


def test_check_hypothesis_tests_a_reading_against_the_labels() -> None:
    from handcalc.checks import check_hypothesis
    from handcalc.features import collect
    from handcalc.grammar import ID, corpus
    from handcalc.lm import load

    data = corpus(200, seed=0)
    acts = collect(load(), data)
    words = data.tokens[acts.where[:, 0], acts.where[:, 1]]
    is_the, is_noun = words == ID["the"], acts.labels[:, 6].astype(bool)  # property 6: noun
    F = np.zeros((5, words.size))
    F[0, is_the] = 1.0  # latent 0 fires exactly on "the"
    F[1] = 2.0 * is_the + 0.5 * is_noun  # strongly on "the", weakly on the nouns: wider
    F[2, np.flatnonzero(is_the)[::3]] = 1.0  # latent 2 on a third of the "the"s: narrower
    F[4] = 0.5 * is_the + 2.0 * is_noun  # strongest on nouns: "the" misses the top contexts
    supported = check_hypothesis(0, "word the", F, data, acts)
    assert supported and "precision 1.00" in supported.message
    assert "holds on 20 of the latent's 20 strongest" in supported.message
    wide = check_hypothesis(1, "word the", F, data, acts)
    assert not wide and "20 of the latent's 20" in wide.message and "lower rows" in wide.message
    narrow = check_hypothesis(2, "word the", F, data, acts)
    assert not narrow and "narrower" in narrow.message
    unread = check_hypothesis(4, "word the", F, data, acts)
    assert not unread and "0 of the latent's 20" in unread.message
    assert "not describe even its strongest" in unread.message
    assert "dead" in check_hypothesis(3, "noun", F, data, acts).message
    assert "already read" in check_hypothesis(0, "noun", F, data, acts, read=(0,)).message
    assert "a property's name" in check_hypothesis(0, "word zebra", F, data, acts).message
    assert "0 to 4" in check_hypothesis(7, "noun", F, data, acts).message


def test_lesson_09_checks_name_their_mistakes() -> None:
    from handcalc.checks import check_clamp_as_addition, check_mean_difference

    rng = np.random.default_rng(4)
    z, W_dec = rng.normal(size=(3, 5)), rng.normal(size=(3, 4))
    f = np.maximum(rng.normal(size=(4, 5)), 0)
    d, change = W_dec[:, [2]], 1.5 - f[2]
    assert check_clamp_as_addition(z + d * change, z, f, W_dec, 2, 1.5)
    assert (
        "as if the feature had been 0"
        in check_clamp_as_addition(z + 1.5 * d, z, f, W_dec, 2, 1.5).message
    )
    assert "other way" in check_clamp_as_addition(z - d * change, z, f, W_dec, 2, 1.5).message
    assert "add it to z" in check_clamp_as_addition(d * change, z, f, W_dec, 2, 1.5).message
    one = z + d * (1.5 - f[2].mean())
    assert "differs from sample" in check_clamp_as_addition(one, z, f, W_dec, 2, 1.5).message

    A = rng.normal(size=(4, 30)) + np.arange(30)
    holds, other = np.arange(30) < 10, np.arange(30) >= 20
    right = A[:, holds].mean(axis=1) - A[:, other].mean(axis=1)
    assert check_mean_difference(right, A, holds, other)
    assert "sign is flipped" in check_mean_difference(-right, A, holds, other).message
    everyone = A[:, holds].mean(axis=1) - A.mean(axis=1)
    assert "all tokens" in check_mean_difference(everyone, A, holds, other).message
    sums = A[:, holds].sum(axis=1) - A[:, other].sum(axis=1)
    assert "Sums" in check_mean_difference(sums, A, holds, other).message
    wrong_axis = A[:, :].mean(axis=0)
    assert "wrong axis" in check_mean_difference(wrong_axis, A, holds, other).message


def test_check_loss_recovered_names_its_mistakes() -> None:
    from handcalc.checks import check_loss_recovered

    L_model, L_sae, L_ablated = 1.4, 1.9, 3.4
    assert check_loss_recovered(0.75, L_model, L_sae, L_ablated)
    assert "lost" in check_loss_recovered(0.25, L_model, L_sae, L_ablated).message
    assert "Upside down" in check_loss_recovered(2 / 1.5, L_model, L_sae, L_ablated).message
    assert "change in loss" in check_loss_recovered(0.5, L_model, L_sae, L_ablated).message
    assert "Ratios" in check_loss_recovered(1.4 / 1.9, L_model, L_sae, L_ablated).message


def test_check_auroc_names_its_mistakes() -> None:
    from handcalc.checks import check_auroc

    scores = np.array([0.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.2, 0.5])
    positive = np.array([1, 0, 1, 0, 1, 0, 0, 1], dtype=bool)
    wins, ties = 0.0, 0.0  # written out pair by pair
    for s in scores[positive]:
        for t in scores[~positive]:
            wins, ties = wins + (s > t), ties + (s == t)
    pairs = positive.sum() * (~positive).sum()
    right = (wins + ties / 2) / pairs
    assert check_auroc(right, scores, positive)
    assert "count for nothing" in check_auroc(wins / pairs, scores, positive).message
    assert "full wins" in check_auroc((wins + ties) / pairs, scores, positive).message
    assert "1 − AUROC" in check_auroc(1 - right, scores, positive).message
    assert "A count" in check_auroc(wins + ties / 2, scores, positive).message


def test_lesson_11_checks_name_their_mistakes() -> None:
    from handcalc.checks import check_auxk_loss, check_normalise
    from handcalc.sae import planted_features
    from handcalc.trainer import init_sae

    rng = np.random.default_rng(5)
    A = rng.normal(size=(6, 40)) * np.array([[1], [2], [3], [1], [5], [1]]) + 4
    mean = A.mean(axis=1)
    centred = A - mean[:, None]
    scale = np.sqrt((centred**2).sum(axis=0).mean())
    assert check_normalise((centred / scale, mean, scale), A)
    uncentred = A / np.sqrt((A**2).sum(axis=0).mean())
    assert "Centre first" in check_normalise((uncentred, mean, scale), A).message
    per_row = centred / centred.std(axis=1, keepdims=True)
    assert "One scale" in check_normalise((per_row, mean, scale), A).message
    mean_length = centred / np.linalg.norm(centred, axis=0).mean()
    assert "root-mean-square" in check_normalise((mean_length, mean, scale), A).message
    assert "three things" in check_normalise(centred / scale, A).message

    data = planted_features(d=8, n_true=12, n_samples=128, active=2, seed=0)
    sae = init_sae(data.X, 16, seed=0, k=3)
    sae.b_dec[:] = 0.3
    dead = np.array([1, 4, 9, 10, 13])
    X_hat = sae.decode(sae.encode(data.X))
    Z = sae.W_enc[dead] @ data.X + sae.b_enc[dead][:, None]  # written out: top 2 per column
    F = np.zeros_like(Z)
    for n in range(Z.shape[1]):
        for i in np.argsort(-Z[:, n])[:2]:
            F[i, n] = max(Z[i, n], 0.0)
    residual = data.X - X_hat
    right = ((residual - sae.W_dec[:, dead] @ F) ** 2).sum(axis=0).mean()
    assert check_auxk_loss(right, sae, data.X, dead, 2)
    target_x = ((data.X - sae.W_dec[:, dead] @ F) ** 2).sum(axis=0).mean()
    assert "residual" in check_auxk_loss(target_x, sae, data.X, dead, 2).message
    with_bias = ((residual - sae.W_dec[:, dead] @ F - 0.3) ** 2).sum(axis=0).mean()
    assert "no b_dec" in check_auxk_loss(with_bias, sae, data.X, dead, 2).message
    assert "dimensions too" in check_auxk_loss(right / 8, sae, data.X, dead, 2).message


def test_check_toy_gradients_names_its_mistakes() -> None:
    from handcalc.checks import check_toy_gradients

    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(2, 5)), rng.normal(size=5) * 0.1
    X = rng.random((5, 64)) * (rng.random((5, 64)) < 0.3)
    importance = 0.9 ** np.arange(5)
    Z = W.T @ W @ X + b[:, None]
    X_hat = np.maximum(Z, 0)
    loss = (importance[:, None] * (X - X_hat) ** 2).sum(axis=0).mean()

    def grads(dX_hat, mask=True):
        dZ = dX_hat * (Z > 0) if mask else dX_hat
        return W @ (X @ dZ.T + dZ @ X.T), dZ.sum(axis=1)

    weighted = 2 * importance[:, None] * (X_hat - X) / 64
    dW, db = grads(weighted)
    assert all(check_toy_gradients((loss, dW, db), W, b, X, importance))
    dZ = weighted * (Z > 0)
    for half in (W @ dZ @ X.T, W @ X @ dZ.T):
        assert "used twice" in check_toy_gradients((loss, half, db), W, b, X, importance)[1].message
    unweighted = grads(2 * (X_hat - X) / 64)
    assert "importance" in check_toy_gradients((loss, *unweighted), W, b, X, importance)[1].message
    unmasked = grads(weighted, mask=False)
    assert "mask" in check_toy_gradients((loss, *unmasked), W, b, X, importance)[2].message
    summed = grads(weighted * 64)
    assert (
        "mean over samples" in check_toy_gradients((loss, *summed), W, b, X, importance)[1].message
    )
    assert "three things" in check_toy_gradients((dW, db), W, b, X, importance)[0].message


def test_check_clamp_change_names_its_mistakes() -> None:
    from handcalc.checks import check_clamp_change

    def right(latent, value):
        def change(f):
            f = f.clone()
            f[..., latent] = value
            return f

        return change

    def in_place(latent, value):
        def change(f):
            f[..., latent] = value
            return f

        return change

    def first_axis(latent, value):
        def change(f):
            f = f.clone()
            f[latent] = value
            return f

        return change

    def adds(latent, value):
        def change(f):
            f = f.clone()
            f[..., latent] += value
            return f

        return change

    assert check_clamp_change(right, 1, 5.0) and check_clamp_change(right, 22, 5.0)
    assert ".clone()" in check_clamp_change(in_place, 1, 5.0).message
    assert "last" in check_clamp_change(first_axis, 1, 5.0).message
    assert "sets it" in check_clamp_change(adds, 1, 5.0).message
    assert "return a function" in check_clamp_change(lambda latent, value: 3, 1, 5.0).message


def test_check_l0_and_variance_explained_name_their_mistakes() -> None:
    from handcalc.checks import check_l0, check_variance_explained

    F = np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    assert check_l0((1 + 1 + 2) / 3, F)
    assert "share of all entries" in check_l0(4 / 12, F).message
    assert "zeros included" in check_l0(4.0, F).message
    assert "mean activation" in check_l0(6.5 / 3, F).message

    rng = np.random.default_rng(6)
    X = rng.normal(size=(4, 50)) + 3
    X_hat = X + 0.3 * rng.normal(size=(4, 50))
    residual = ((X - X_hat) ** 2).sum()
    total = ((X - X.mean(axis=1, keepdims=True)) ** 2).sum()
    assert check_variance_explained(1 - residual / total, X, X_hat)
    assert (
        "from the mean" in check_variance_explained(1 - residual / (X**2).sum(), X, X_hat).message
    )
    assert "subtract it" in check_variance_explained(residual / total, X, X_hat).message
    over_dims = ((X - X.mean(axis=0, keepdims=True)) ** 2).sum()
    assert "axis=1" in check_variance_explained(1 - residual / over_dims, X, X_hat).message


def _jumprelu_problem():
    rng = np.random.default_rng(2)
    Z = rng.integers(-4, 5, size=(6, 8)) / 2  # halves: some entries sit exactly on a threshold
    return Z, rng.integers(1, 4, size=6) / 2, rng.integers(-3, 4, size=(6, 8)) / 4


def test_jumprelu_check_names_each_slip() -> None:
    from handcalc.checks import check_jumprelu

    Z, theta, _ = _jumprelu_problem()
    right = Z * (Z > theta[:, None])
    assert check_jumprelu(right, Z, theta).correct
    slips = {
        "subtracted the threshold": np.maximum(Z - theta[:, None], 0),
        "That is a ReLU": np.maximum(Z, 0),
        "Kept where z ≥ θ": Z * (Z >= theta[:, None]),
    }
    for said, answer in slips.items():
        verdict = check_jumprelu(answer, Z, theta)
        assert not verdict.correct and said in verdict.message, (said, verdict.message)


def test_threshold_grad_check_names_each_slip() -> None:
    from handcalc.checks import check_threshold_grad
    from handcalc.jumprelu import rectangle

    Z, theta, dF = _jumprelu_problem()
    lam, eps, n = 0.5, 0.5, Z.shape[1]
    K = rectangle((Z - theta[:, None]) / eps) / eps
    through_f, through_l0 = -(dF * theta[:, None] * K).sum(1), -lam / n * K.sum(1)
    assert check_threshold_grad(through_f + through_l0, Z, theta, dF, lam, eps).correct
    slips = {
        "Only the reconstruction's part": through_f,
        "Only the L0 penalty's part": through_l0,
        "signs are flipped": -(through_f + through_l0),
        "factor θ": -(dF * K).sum(1) + through_l0,
        "divided by its width": (through_f + through_l0) * eps,
        "λ/n, not λ": through_f + through_l0 * n,
    }
    for said, answer in slips.items():
        verdict = check_threshold_grad(answer, Z, theta, dF, lam, eps)
        assert not verdict.correct and said in verdict.message, (said, verdict.message)


def test_a_wrong_single_number_says_how_far_off_it_is_in_words() -> None:
    """Issue 26: a scalar answer that matches no named mistake is never 'One entry is off: , ...'
    but says what was written and how it compares with the right value."""
    from handcalc.checks import compare

    twice = compare(8.0, 4.0, "the loss")
    assert twice.message == (
        "Not the loss yet: you wrote 8, exactly 2 times the right value. A factor that does not "
        "belong, or a sum where a mean belongs?"
    )
    assert "exactly 1/500 of the right value" in compare(0.5, 250.0, "L0").message
    assert "about 1.3 times the right value" in compare(1.3, 1.0, "L0").message
    assert "the opposite sign" in compare(-2.5, 1.0, "L0").message
    assert "the right value is 0" in compare(0.25, 0.0, "L0").message
    for message in (compare(x, 4.0, "L0").message for x in (8.0, 0.5, 1.3, -2.5)):
        assert "entry" not in message and ": ," not in message


def test_lesson_07_single_number_checks_name_their_usual_slips() -> None:
    """Issue 26: L0 as a total count, variance explained with one global mean or a residual
    averaged against a summed total, and the L1 penalty's slips are named."""
    from handcalc.checks import check_l0, check_l1_penalty, check_variance_explained

    rng = np.random.default_rng(1)
    F = np.maximum(rng.normal(size=(6, 40)), 0)
    assert "total" in check_l0(float((F != 0).sum()), F).message
    assert "per latent" in check_l0(float((F != 0).sum(axis=1).mean()), F).message

    X = rng.normal(size=(4, 50)) + np.arange(4)[:, None]
    X_hat = X + 0.3 * rng.normal(size=(4, 50))
    residual, n = ((X - X_hat) ** 2).sum(), X.shape[1]
    total = ((X - X.mean(axis=1, keepdims=True)) ** 2).sum()
    assert (
        "single mean"
        in check_variance_explained(1 - residual / ((X - X.mean()) ** 2).sum(), X, X_hat).message
    )
    assert "both" in check_variance_explained(1 - residual / n / total, X, X_hat).message

    W_dec = rng.normal(size=(3, 6))
    norms = np.linalg.norm(W_dec, axis=0)
    right = 0.5 * (F.sum(axis=1) * norms).sum() / 40
    assert check_l1_penalty(right, F, W_dec, 0.5)
    slips = {
        "number of samples": 0.5 * (F.sum(axis=1) * norms).sum(),
        "lengths, not their squares": 0.5 * (F.sum(axis=1) * norms**2).sum() / 40,
        "weighted by the length": 0.5 * F.sum() / 40,
        "λ": (F.sum(axis=1) * norms).sum() / 40,
    }
    for words, answer in slips.items():
        verdict = check_l1_penalty(answer, F, W_dec, 0.5)
        assert not verdict and words in verdict.message, (words, verdict.message)


def test_check_topk_catches_ignored_positivity_and_sorting_slips_on_lesson_07s_problem() -> None:
    """Issue 26: on lesson 07's own problem, a TopK that keeps negative entries is caught (a
    sample has fewer than k positive pre-activations), and so are an ascending sort's k-th
    value and k + 1 kept."""
    import json

    from handcalc.checks import check_topk

    notebook = json.loads((ROOT / "solutions" / "07_training_saes.ipynb").read_text())
    cell = next(
        "".join(c["source"]) for c in notebook["cells"] if "check_topk(" in "".join(c["source"])
    )
    names: dict = {"np": np}
    setup = [line.strip() for line in cell.splitlines() if line.strip().startswith(("rng", "Z"))]
    exec("\n".join(setup), names)
    Z, k = names["Z"], 2
    assert ((Z > 0).sum(axis=0) < k).any(), "no sample has fewer than k positive entries"
    ignored = np.where(Z >= np.sort(Z, axis=0)[-k], Z, 0.0)
    assert "Negative entries kept" in check_topk(ignored, Z, k).message
    ascending = np.where((Z >= np.sort(Z, axis=0)[k - 1]) & (Z > 0), Z, 0.0)
    assert "ascending" in check_topk(ascending, Z, k).message
    extra = np.where((Z >= np.sort(Z, axis=0)[-k - 1]) & (Z > 0), Z, 0.0)
    assert "k + 1" in check_topk(extra, Z, k).message


SHEET = ["Z", "F", "X_hat", "norms", "l1_grad", "dX_hat", "dF", "dZ", "dW_enc", "db_enc"]


def _sheet(problem, **changes):
    trace = hc.sae_trace(problem)
    return {name: trace[name] for name in SHEET} | changes


def test_the_whole_sheet_check_names_a_slip_once_and_carries_it() -> None:
    """Issue 26: one line per step with the sheet's name; X' computed from Z while F is right is
    named at X' without contradicting F's 'correct'; the steps computed from the wrong X' are
    marked as carried from step 3; a missing step is named; a second, independent slip gets its
    own diagnosis."""
    p = hc.sae_problem(5)
    trace = hc.sae_trace(p)
    right = hc.check_sheet(_sheet(p), p, SHEET)
    assert all(right) and [v.message for v in right][:3] == [
        "Step 1, Z: correct.",
        "Step 2, F: correct.",
        "Step 3, X': correct.",
    ]
    X_hat = p.W_dec @ trace["Z"] + p.b_dec[:, None]  # Z where F belongs
    dX_hat = 2 * (X_hat - p.X)
    dF = p.W_dec.T @ dX_hat + trace["l1_grad"]
    dZ = dF * (trace["Z"] > 0) + 1.0  # and a slip of its own at dZ
    changed = _sheet(p, X_hat=X_hat, dX_hat=dX_hat, dF=dF, dZ=dZ, dW_enc=dZ @ p.X.T)
    verdicts = hc.check_sheet(changed, p, SHEET)
    messages = [v.message for v in verdicts]
    assert messages[1] == "Step 2, F: correct." and "yet your F is right" in messages[2]
    assert messages[2].startswith("Step 3, X': ") and "Correct" not in messages[2]
    for line in messages[5:7]:
        assert "carried from the slip at step 3 (X')" in line, line
    assert messages[7].startswith("Step 8, dZ: ") and "carried" not in messages[7]
    assert "carried from the slip at step 8 (dZ)" in messages[8]
    assert all(verdicts[:2] + verdicts[3:5]) and not any(verdicts[2:3] + verdicts[5:9])

    missing = hc.check_sheet({k: v for k, v in _sheet(p).items() if k != "dF"}, p, SHEET)
    assert missing[6].message == "Step 7, dF: missing; return it under the key 'dF'."
    assert "carried from the slip at step 7 (dF)" not in missing[7].message  # dZ is still right
    assert "must be a dict" in hc.check_sheet([1, 2], p, SHEET)[0].message


def test_a_step_is_called_by_its_name_on_the_sheet() -> None:
    p = hc.sae_problem(5)
    assert hc.check("dX_hat", hc.sae_trace(p)["dX_hat"], p).message == "Correct: that is dX'."


def test_issue_26s_misnamed_mistakes_are_named() -> None:
    """dH3 masked one step early names the mask's place (dZ3), and lesson 05's toy forward pass
    with the bias added as a row (X square, so it looks transposed) names the row."""
    from handcalc.checks import check_toy_forward

    p = hc.autoencoder_problem()
    t = hc.autoencoder_trace(p)
    early = hc.check("dH3", np.where(t["Z3"] > 0, t["dH3"], 0.0), p)
    assert not early and early.message.startswith("You applied the ReLU's mask one step early")
    rng = np.random.default_rng(0)
    W, b, X = rng.normal(size=(2, 5)), -rng.uniform(0.1, 0.5, 5), np.eye(5)
    row = np.maximum(W.T @ W @ X + b, 0)
    verdict = check_toy_forward(row, W, b, X)
    assert not verdict and "b[:, None]" in verdict.message and "Transposed" not in verdict.message


def test_printed_messages_wrap_between_words() -> None:
    """Issue 26: JupyterLab breaks a long output line anywhere ('colu mn'); printed verdicts come
    wrapped between words, later lines indented, and say the same words as the message."""
    message = "This column is wrong because " + "the bias becomes a row " * 12 + "here."
    printed = str(hc.Feedback(False, message))
    lines = printed.splitlines()
    assert len(lines) > 1 and all(len(line) <= 88 for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    assert " ".join(line.strip() for line in lines) == message


def test_the_whole_sheet_check_reads_an_unreadable_entry_without_crashing() -> None:
    p = hc.sae_problem(5)
    verdicts = hc.check_sheet(_sheet(p, X_hat="not a matrix"), p, SHEET)
    assert not verdicts[2] and "carried" not in verdicts[5].message
    assert all(v.message.startswith(f"Step {i}, ") for i, v in enumerate(verdicts, start=1))


def test_a_code_exercise_check_speaks_in_the_learners_own_names() -> None:
    """Issue 26: my_linear(W, b, X) is told "add b to every column of W X", not b1 and W1; the
    step's own name stays the sheet's, and only whole names change (dW1, W12 stay)."""
    from handcalc.checks import Feedback
    from handcalc.checks.core import renamed

    problem = hc.autoencoder_problem(7)
    W, b = problem.layers[0]
    yours = {"W1": "W", "b1": "b", "Z1": "Z"}
    assert hc.check("Z1", W @ problem.X, problem, names=yours).message == (
        "You left out the bias: add b to every column of W X."
    )
    assert hc.check("Z1", hc.linear(W, b, problem.X), problem, names=yours).message == (
        "Correct: that is Z1."
    )
    said = renamed(Feedback(False, "W1ᵀ, dW1, W12 and (W1) and X'"), {"W1": "W", "X_hat": "Y"})
    assert said.message == "Wᵀ, dW1, W12 and (W) and Y"
