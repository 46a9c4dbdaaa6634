"""Steering through SAE features: the edit is exact when it changes nothing, equals the by-hand
formula, and (lesson 09's claims) clamping the plural feature flips the model's verbs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handcalc.checks import check_steer
from handcalc.features import best_features, collect, property_table
from handcalc.grammar import corpus
from handcalc.lm import agreement, load, verb_logit_difference
from handcalc.steering import ablate, clamp, sae_edit, steer
from handcalc.trainer import train_sae


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    model, data = load(), corpus(3000, seed=2)
    acts = collect(model, data)
    sae, _ = train_sae(acts.X, 64, "topk", k=4, steps=2000, progress=False)
    F = sae.encode(acts.X)
    best = best_features(property_table(F, acts.labels))
    return model, acts, sae, F, best


def test_no_change_is_exact_and_no_error_term_is_not(setup) -> None:
    model, acts, sae, _, _ = setup
    tokens = torch.from_numpy(corpus(200, seed=3).tokens)
    with torch.no_grad():
        plain = model(tokens)
        same = model(tokens, {"resid_2": sae_edit(sae, acts)})
        reconstructed = model(tokens, {"resid_2": sae_edit(sae, acts, keep_error=False)})
    torch.testing.assert_close(same, plain, rtol=1e-5, atol=1e-4)
    assert (reconstructed - plain).abs().max() > 1e-2


def test_edit_equals_the_formula_by_hand(setup) -> None:
    _, acts, sae, _, _ = setup
    z = acts.X[:, :7]
    expected = steer(z, sae.encode(z), sae.W_dec, sae.b_dec, 3, 2.5)
    x = torch.from_numpy(acts.to_model(z).T[None])  # (1, tokens, width), float64
    edited = sae_edit(sae, acts, clamp(3, 2.5))(x)[0].numpy().T
    np.testing.assert_allclose((edited - acts.mean[:, None]) / acts.scale, expected, atol=1e-10)


def test_check_steer_names_its_mistakes() -> None:
    rng = np.random.default_rng(0)
    z, f = rng.normal(size=(3, 4)), np.abs(rng.normal(size=(5, 4)))
    W_dec, b_dec = rng.normal(size=(3, 5)), rng.normal(size=3)
    right = steer(z, f, W_dec, b_dec, 2, 1.5)
    assert check_steer(right, z, f, W_dec, b_dec, 2, 1.5)
    clamped = f.copy()
    clamped[2] = 1.5
    no_error = W_dec @ clamped + b_dec[:, None]
    assert check_steer(no_error, z, f, W_dec, b_dec, 2, 1.5).message.startswith(
        "You left out the error term"
    )
    added = f.copy()
    added[2] += 1.5
    plus = W_dec @ added + b_dec[:, None] + (z - W_dec @ f - b_dec[:, None])
    assert check_steer(plus, z, f, W_dec, b_dec, 2, 1.5).message.startswith("You added 1.5")
    row = z.copy()
    row[2] = 1.5
    assert check_steer(row, z, f, W_dec, b_dec, 2, 1.5).message.startswith("You changed a row")


def test_clamping_the_plural_feature_flips_singular_sentences(setup) -> None:
    model, acts, sae, F, best = setup
    plural = best["plural verb may follow"][0]
    test = corpus(1000, seed=3)
    singular = torch.from_numpy(~test.plural)
    tokens = torch.from_numpy(test.tokens)
    flips = {}
    for times in (0.5, 2.0):
        edit = sae_edit(sae, acts, clamp(plural, times * F[plural].max()))
        with torch.no_grad():
            difference = verb_logit_difference(model(tokens, {"resid_2": edit}), test)
        flips[times] = (difference[singular] < 0).float().mean().item()
    assert flips[0.5] < 0.05 and flips[2.0] > 0.9


def test_ablating_the_number_features_breaks_simple_sentences_only(setup) -> None:
    model, acts, sae, _, best = setup
    latents = best["singular verb may follow"][0], best["plural verb may follow"][0]
    edit = sae_edit(sae, acts, ablate(*latents))
    result = agreement(model, corpus(1000, seed=3), {"resid_2": edit})
    assert result["simple"] < 0.7
    assert min(result["pp"], result["subj_rel"], result["obj_rel"]) > 0.95
