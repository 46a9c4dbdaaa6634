"""Every step of both traces equals PyTorch autograd (float64) on the same problem.

Integer problems: every value that PyTorch computes as a whole number must be equal to the last
bit; the few non-integer values (the decoder-length gradient's thirds, the update's lr * grad)
to 1e-12, because numpy and torch may round a division in a different order. Random float
problems of random sizes: to 1e-10.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import handcalc as hc
from tests.torch_reference import autoencoder_reference, sae_reference

GENERATED_SEEDS = range(1, 201)


def assert_matches(trace: hc.Trace, reference: dict, exact: bool) -> None:
    assert set(trace.names) == set(reference), "the trace and the reference cover other steps"
    for name in trace.names:
        ours, theirs = np.asarray(trace[name]), np.asarray(reference[name])
        assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} vs torch {theirs.shape}"
        if exact and np.array_equal(theirs, np.round(theirs)):
            assert np.array_equal(ours, theirs), f"{name}:\n{ours}\ntorch:\n{theirs}"
        else:
            tol = 1e-12 if exact else 1e-10
            np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=name)


def test_canonical_autoencoder_equals_torch() -> None:
    problem = hc.autoencoder_problem(hc.problems.CANONICAL)
    assert_matches(hc.autoencoder_trace(problem), autoencoder_reference(problem), exact=True)


def test_canonical_sae_equals_torch() -> None:
    problem = hc.sae_problem(hc.problems.CANONICAL)
    assert_matches(hc.sae_trace(problem), sae_reference(problem), exact=True)


@pytest.mark.parametrize("seed", GENERATED_SEEDS)
def test_generated_autoencoder_equals_torch(seed: int) -> None:
    problem = hc.autoencoder_problem(seed)
    assert_matches(hc.autoencoder_trace(problem), autoencoder_reference(problem), exact=True)


@pytest.mark.parametrize("seed", GENERATED_SEEDS)
def test_generated_sae_equals_torch(seed: int) -> None:
    problem = hc.sae_problem(seed)
    assert_matches(hc.sae_trace(problem), sae_reference(problem), exact=True)


def floats(shape) -> st.SearchStrategy[np.ndarray]:
    """Entries 0 or 1e-3 <= |v| <= 3. Far smaller numbers are out of scope on purpose: there the
    sheet's sqrt(sum of squares) underflows to 0 where torch's norm rescales first."""
    element = st.floats(-3, 3, allow_nan=False).filter(lambda v: v == 0 or abs(v) >= 1e-3)
    return arrays(np.float64, shape, elements=element)


def away_from_kinks(*pre_activations: np.ndarray) -> None:
    """Skip draws with a pre-activation within rounding of 0, where numpy's and torch's sums,
    rounded in another order, could land on different sides of the ReLU's kink."""
    for Z in pre_activations:
        assume(np.all((np.abs(Z) > 1e-9) | (Z == 0)))


@st.composite
def float_autoencoders(draw) -> hc.AutoencoderProblem:
    d, n = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    widths = draw(st.lists(st.integers(1, 5), min_size=0, max_size=3))
    sizes = [d, *widths, d]
    layers = [
        (draw(floats((n_out, n_in))), draw(floats((n_out,))))
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    lr = draw(st.floats(1e-4, 1.0))
    return hc.AutoencoderProblem(draw(floats((d, n))), layers, lr=lr)


@st.composite
def float_saes(draw) -> hc.SAEProblem:
    d, m, n = draw(st.integers(1, 5)), draw(st.integers(1, 8)), draw(st.integers(1, 6))
    return hc.SAEProblem(
        X=draw(floats((d, n))),
        W_enc=draw(floats((m, d))),
        b_enc=draw(floats((m,))),
        W_dec=draw(floats((d, m))),
        b_dec=draw(floats((d,))),
        lam=draw(st.floats(0.01, 5.0)),
        lr=draw(st.floats(1e-4, 1.0)),
    )


@given(float_autoencoders())
def test_random_float_autoencoders_equal_torch(problem: hc.AutoencoderProblem) -> None:
    trace = hc.autoencoder_trace(problem)
    away_from_kinks(*(trace[name] for name in trace.names if name[0] == "Z"))
    assert_matches(trace, autoencoder_reference(problem), exact=False)


@given(float_saes())
def test_random_float_saes_equal_torch(problem: hc.SAEProblem) -> None:
    trace = hc.sae_trace(problem)
    away_from_kinks(trace["Z"])
    assert_matches(trace, sae_reference(problem), exact=False)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_without_abs_only_dF_at_the_zeros_changes(seed: int) -> None:
    """Lesson 06: the penalty written as λ Σ ‖d_i‖ Σ f (no |·|) gives autograd a slope λ ‖d_i‖ at
    the features that are 0, where the sheet (|f|, subgradient 0) has 0; every gradient after the
    ReLU is the same."""
    import torch

    problem = hc.sae_problem(seed)
    trace = hc.sae_trace(problem)
    x = torch.tensor(np.asarray(problem.X, dtype=float))
    W_enc, W_dec = (torch.tensor(np.asarray(w, dtype=float), requires_grad=True)
                    for w in (problem.W_enc, problem.W_dec))  # fmt: skip
    b_enc, b_dec = (
        torch.tensor(np.asarray(b, dtype=float)) for b in (problem.b_enc, problem.b_dec)
    )
    z = W_enc @ x + b_enc[:, None]
    z.retain_grad()
    f = torch.relu(z)
    f.retain_grad()
    x_hat = W_dec @ f + b_dec[:, None]
    norms = torch.linalg.vector_norm(W_dec, dim=0)
    (((x_hat - x) ** 2).sum() + problem.lam * (f * norms[:, None]).sum()).backward()
    zeros = np.asarray(trace["F"]) == 0
    differs = ~np.isclose(f.grad.numpy(), np.asarray(trace["dF"]), rtol=0, atol=1e-12)
    assert zeros.any() and np.array_equal(differs, zeros)
    np.testing.assert_allclose(z.grad.numpy(), np.asarray(trace["dZ"]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(W_enc.grad.numpy(), np.asarray(trace["dW_enc"]), atol=1e-12)
    np.testing.assert_allclose(W_dec.grad.numpy(), np.asarray(trace["dW_dec"]), atol=1e-12)
