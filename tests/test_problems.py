"""Generated problems are hand-friendly, over many seeds, and the same on every machine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import handcalc as hc
from handcalc.seeds import MAX_ENTRY, _SplitMix64

CANONICAL = hc.problems.CANONICAL
SEEDS = range(0, 301)  # 0 is the canonical worked example


def whole(value, denominator: int = 1) -> bool:
    scaled = np.asarray(value, dtype=float) * denominator
    return bool(np.all(np.abs(scaled - np.round(scaled)) < 1e-9))


def assert_small_integers(*arrays: np.ndarray) -> None:
    for array in arrays:
        assert array.dtype.kind == "i", f"not an integer array: {array.dtype}"
        assert np.abs(array).max() <= 3, f"entry outside -3..3:\n{array}"


def assert_relu_zeroes_something(Z: np.ndarray) -> None:
    assert (Z < 0).any(), f"this ReLU zeroes nothing:\n{Z}"
    assert not (Z == 0).any(), f"a pre-activation is exactly 0, where ReLU's slope is unclear:\n{Z}"


def assert_hand_sized(trace: hc.Trace, denominators: dict[str, int]) -> None:
    for name in trace.names:
        value = np.asarray(trace[name])
        if name.endswith("_new"):  # p - 0.01 * grad: hundredths (of sixths for the decoder)
            assert whole(value, 100 * denominators.get("d" + name[:-4], 1)), name
        elif "loss" not in name:
            assert np.abs(value).max() <= MAX_ENTRY, f"{name} has an entry above {MAX_ENTRY}"
            assert whole(value, denominators.get(name, 1)), f"{name} is not whole:\n{value}"


@pytest.mark.parametrize("seed", SEEDS)
def test_autoencoder_problems_are_hand_friendly(seed: int) -> None:
    problem = hc.autoencoder_problem(seed)
    assert problem.X.shape == (4, 4)
    assert [W.shape for W, _ in problem.layers] == [(3, 4), (2, 3), (3, 2), (4, 3)]
    assert [b.shape for _, b in problem.layers] == [(3,), (2,), (3,), (4,)]
    assert_small_integers(problem.X, *(a for layer in problem.layers for a in layer))
    trace = hc.autoencoder_trace(problem)
    for name in ("Z1", "Z2", "Z3"):
        assert_relu_zeroes_something(trace[name])
    assert_hand_sized(trace, {})
    assert all(trace[f"dW{k}"].any() for k in range(1, 5)), "the gradient dies on the way back"
    if seed != CANONICAL:  # the frozen worked example keeps its b3 = 0 (learners' grids use seeds)
        assert all(b.any() for _, b in problem.layers), "a bias that is all 0: nothing to add"


@pytest.mark.parametrize("seed", SEEDS)
def test_sae_problems_are_hand_friendly(seed: int) -> None:
    problem = hc.sae_problem(seed)
    shapes = [a.shape for a in (problem.X, problem.W_enc, problem.b_enc, problem.W_dec)]
    assert shapes == [(3, 5), (6, 3), (6,), (3, 6)] and problem.b_dec.shape == (3,)
    assert_small_integers(problem.X, problem.W_enc, problem.b_enc, problem.W_dec, problem.b_dec)
    norms = hc.decoder_norms(problem.W_dec)
    assert whole(norms) and norms.min() >= 1, f"decoder lengths not whole: {norms}"
    assert problem.lam in (1, 2)
    trace = hc.sae_trace(problem)
    assert_relu_zeroes_something(trace["Z"])
    assert (trace["F"] > 0).any(axis=0).all(), "a token with no active feature"
    assert_hand_sized(trace, {"dW_dec_l1": 6, "dW_dec": 6})
    assert problem.b_enc.any() and problem.b_dec.any(), "a bias that is all 0 (nothing to add)"


def test_same_seed_same_problem_and_seeds_differ() -> None:
    a, b, c = hc.sae_problem(7), hc.sae_problem(7), hc.sae_problem(8)
    assert np.array_equal(a.W_enc, b.W_enc) and np.array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


def test_problems_do_not_depend_on_the_process() -> None:
    """The generator uses no numpy randomness and no hashing: another interpreter agrees."""
    code = "import handcalc as h; p = h.autoencoder_problem(42); print(p.X.tolist(), p.layers[3])"
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2)
    ]
    p = hc.autoencoder_problem(42)
    assert runs[0] == runs[1] == f"{p.X.tolist()} {p.layers[3]}\n"


def test_splitmix64_matches_the_published_reference_outputs() -> None:
    # Seed 1234567: the first outputs given on Rosetta Code, "Pseudo-random numbers/Splitmix64".
    rng = _SplitMix64(1234567)
    assert [rng.next() for _ in range(5)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]


def test_canonical_is_seed_zero_and_the_default() -> None:
    assert hc.problems.CANONICAL == 0
    assert np.array_equal(hc.sae_problem().W_dec, hc.sae_problem(0).W_dec)
    assert hc.autoencoder_problem().seed == 0


def test_canonical_sae_has_lengths_above_one() -> None:
    """The worked example has decoder lengths of 3, so step [8] really multiplies and thirds
    appear in the decoder's sparsity gradient."""
    norms = hc.decoder_norms(hc.sae_problem().W_dec)
    assert set(norms) == {1, 3}
    assert not whole(hc.sae_trace(hc.sae_problem())["dW_dec_l1"])


def test_canonical_sae_features_each_fire_on_one_or_two_named_tokens() -> None:
    """Lesson 06 ends by reading the features: each fires on one or two tokens, no two on the
    same ones, every token has one, and the tokens have names."""
    problem = hc.sae_problem()
    fires = hc.sae_trace(problem)["F"] > 0
    assert len(problem.tokens) == problem.X.shape[1] and all(problem.tokens)
    assert set(fires.sum(axis=1)) <= {1, 2}
    assert len({tuple(row) for row in fires}) == fires.shape[0], "two features fire alike"
    assert fires.any(axis=0).all(), "a token with no feature"
