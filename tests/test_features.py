"""Reading features: AUROC by hand, activations in and out of normalised units, and the whole
pipeline on the shipped model (lesson 08's claims)."""

from __future__ import annotations

import numpy as np
import pytest

from handcalc.features import (
    auroc,
    best_features,
    collect,
    logit_effect,
    property_table,
    top_contexts,
    unembedding,
)
from handcalc.grammar import ID, PLURAL_VERBS, SINGULAR_VERBS, corpus
from handcalc.lm import load
from handcalc.trainer import train_sae


def test_auroc_by_hand() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75  # 3 of 4 pairs
    assert auroc([1, 2, 3], [False, True, True]) == 1.0
    assert auroc([3, 2, 1], [False, True, True]) == 0.0
    assert auroc([0, 0, 0, 0], [True, False, True, False]) == 0.5  # ties count half
    assert auroc([0, 0, 1, 0], [True, False, True, False]) == 0.75


def test_property_table_and_top_contexts() -> None:
    F = np.array([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    labels = np.array([[False], [True], [False], [True]])
    table = property_table(F, labels)
    assert table.shape == (2, 1) and table[0, 0] == 1.0 and table[1, 0] == 0.5
    assert top_contexts(np.array([0.5, 3.0, 0.0, 3.0]), 3).tolist() == [1, 3, 0]


def test_collect_normalises_and_maps_back() -> None:
    model, data = load(), corpus(200, seed=4)
    acts = collect(model, data, "resid_1")
    assert acts.X.shape[0] == 64 and acts.X.shape[1] == len(acts.where) == len(acts.labels)
    assert np.sqrt((acts.X**2).sum(axis=0).mean()) == pytest.approx(1.0)
    np.testing.assert_allclose(acts.X.mean(axis=1), 0, atol=1e-12)
    sentence, position = acts.where[0]
    assert data.tokens[sentence, position] not in (ID["<pad>"], ID["<bos>"])


def test_logit_effect_formula() -> None:
    d, W_U, gain = np.array([1.0, 3.0]), np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([2.0, 1.0])
    np.testing.assert_allclose(logit_effect(d, W_U, gain), [-2.0, 2.0])  # d - mean = (-1, 1)


def test_an_sae_finds_the_number_features() -> None:
    """Lesson 08's claim: on the last residual stream, one latent per number has AUROC > 0.95,
    and the plural one pushes the model towards plural verbs."""
    model, data = load(), corpus(3000, seed=2)
    acts = collect(model, data)
    sae, _ = train_sae(acts.X, 64, "topk", k=4, steps=2000, progress=False)
    best = best_features(property_table(sae.encode(acts.X), acts.labels))
    singular, singular_auroc = best["singular verb may follow"]
    plural, plural_auroc = best["plural verb may follow"]
    assert singular != plural and singular_auroc > 0.95 and plural_auroc > 0.95
    W_U, gain = unembedding(model)
    pairs = [(plural, PLURAL_VERBS, SINGULAR_VERBS), (singular, SINGULAR_VERBS, PLURAL_VERBS)]
    for latent, ours, theirs in pairs:
        effect = logit_effect(acts.scale * sae.W_dec[:, latent], W_U, gain)
        assert effect[ours].mean() > effect[theirs].mean()
