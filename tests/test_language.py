"""The course's language: the grammar's sentences and labels, and the model that speaks it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handcalc.grammar import (
    BE,
    CONSTRUCTIONS,
    CONTEXT,
    ID,
    NOUNS,
    PROPERTIES,
    TRANSITIVE,
    VERBS,
    VOCAB,
    corpus,
)
from handcalc.lm import WEIGHTS, TinyLM, agreement, load, verb_logit_difference

SINGULAR = {form for pairs in NOUNS.values() for form, _ in pairs}
PLURAL = {form for pairs in NOUNS.values() for _, form in pairs}
SINGULAR_VERB = {s for s, _ in [*VERBS, BE, *TRANSITIVE]}
PLURAL_VERB = {p for _, p in [*VERBS, BE, *TRANSITIVE]}


def words(data, i: int) -> list[str]:
    return data.text(i).split()


def column(name: str) -> int:
    return PROPERTIES.index(name)


def test_vocabulary_is_unique_and_fits() -> None:
    assert len(VOCAB) == len(set(VOCAB))
    data = corpus(2000, seed=3)
    assert data.tokens.shape == (2000, CONTEXT)
    assert (data.tokens[:, 0] == ID["<bos>"]).all()


def test_every_verb_agrees_with_its_noun() -> None:
    """Read each sentence back as words and check agreement the way a grammar book would."""
    data = corpus(3000, seed=5)
    for i in range(len(data.tokens)):
        w = words(data, i)[1:]  # without <bos>
        construction = CONSTRUCTIONS[data.construction[i]]
        subject = w[1]
        assert (subject in PLURAL) == data.plural[i]
        main_verb = w[data.verb_at[i] - 1]
        assert main_verb in (PLURAL_VERB if data.plural[i] else SINGULAR_VERB), data.text(i)
        if construction == "subj_rel":  # the cat that sees the dogs ...
            assert w[2] == "that" and (w[3] in PLURAL_VERB) == data.plural[i]
        if construction == "obj_rel":  # the cat that the dogs see ...
            assert (w[4] in PLURAL) == data.other_plural[i]
            assert (w[5] in PLURAL_VERB) == data.other_plural[i]
        if construction == "simple":
            assert len(w) in (4, 5)  # the cat runs . / the cat is old .


def test_labels() -> None:
    data = corpus(1000, seed=7)
    L = data.labels
    rows = np.arange(len(data.tokens))
    before = L[:, :, column("before main verb")]
    assert (before.sum(axis=1) == 1).all()
    assert before[rows, data.verb_at - 1].all()
    plural_span = L[:, :, column("subject plural")].any(axis=1)
    singular_span = L[:, :, column("subject singular")].any(axis=1)
    assert (plural_span == data.plural).all() and (singular_span == ~data.plural).all()
    # the main verb may follow at the subject noun (position 2) and just before the main verb
    follow = L[:, :, column("plural verb may follow")] | L[:, :, column("singular verb may follow")]
    assert (follow.sum(axis=1) == np.where(data.construction == 0, 1, 2)).all()
    assert follow[:, 2].all()
    nouns = np.isin(data.tokens, [ID[n] for n in SINGULAR | PLURAL])
    assert (L[:, :, column("noun")] == nouns).all()
    inside_rel = L[:, :, column("inside relative clause")].any(axis=1)
    assert (inside_rel == np.isin(data.construction, [2, 3])).all()
    end = L[:, :, column("end of sentence")]
    assert (data.tokens[end] == ID["."]).all() and (end.sum(axis=1) == 1).all()


def test_same_seed_same_corpus_and_mismatch() -> None:
    a, b = corpus(500, seed=9), corpus(500, seed=9)
    assert (a.tokens == b.tokens).all() and (a.labels == b.labels).all()
    assert not (a.tokens == corpus(500, seed=10).tokens).all()
    expected = (a.construction != 0) & (a.other_plural != a.plural)
    assert (a.mismatch == expected).all() and 0.2 < a.mismatch.mean() < 0.5


def test_shipped_model_agrees_on_new_sentences() -> None:
    """The shipped weights, on 2000 sentences it was not trained on (training used seed 0)."""
    assert WEIGHTS.stat().st_size < 1_000_000
    model = load()
    result = agreement(model, corpus(2000, seed=11))
    for name, value in result.items():
        assert value >= 0.99, f"agreement on {name}: {value}"


def test_an_untrained_model_does_not_agree() -> None:
    """The agreement measure can fail: a fresh model is near chance."""
    torch.manual_seed(0)
    result = agreement(TinyLM().eval(), corpus(2000, seed=11))
    assert 0.2 < result["all"] < 0.8


def test_cache_and_edits() -> None:
    model, data = load(), corpus(50, seed=12)
    tokens = torch.from_numpy(data.tokens)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
        same = model(tokens, {name: (lambda x: x) for name in cache})
        flipped = model(tokens, {"resid_2": lambda x: torch.zeros_like(x)})
    assert set(cache) == {"resid_0", "mlp_1", "resid_1", "mlp_2", "resid_2"}
    assert cache["resid_1"].shape == (50, CONTEXT, 64) and cache["mlp_1"].shape == (
        50,
        CONTEXT,
        256,
    )
    assert torch.equal(logits, same)
    assert not torch.allclose(logits, flipped)
    difference = verb_logit_difference(logits, data)
    assert (difference > 0).all()


@pytest.mark.parametrize("plural", [False, True])
def test_verb_logit_difference_sign(plural: bool) -> None:
    """Positive when the right number's verbs score higher, by hand on made-up logits."""
    data = corpus(1, seed=0)
    data.plural[:] = plural
    logits = torch.zeros(1, CONTEXT, len(VOCAB))
    logits[0, data.verb_at[0] - 1, ID["run"]] = 5.0  # a plural verb
    assert (verb_logit_difference(logits, data).item() > 0) == plural
