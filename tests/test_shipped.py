"""The SAEs that lessons 08-11 read ship with the course; they are what their recipe trains."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from handcalc.shipped import RECIPES, distance, load_sae, train


def test_every_recipe_ships_with_its_shape() -> None:
    for site, latents, k in RECIPES:
        sae = load_sae(site, latents, k)
        assert sae.W_enc.shape == (latents, 64) and sae.W_dec.shape == (64, latents)
        assert sae.b_enc.shape == (latents,) and sae.b_dec.shape == (64,) and sae.k == k


def test_an_sae_the_course_does_not_ship_is_named_with_what_it_does() -> None:
    with pytest.raises(ValueError, match=r"No shipped SAE \('resid_2', 32, 2\); the course ships"):
        load_sae("resid_2", 32, 2)


def test_distance_of_an_sae_to_itself_and_to_another() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 500))
    sae = load_sae("resid_2", 16, 4)
    same = distance(sae, sae, X)
    assert same["largest parameter difference"] == 0 and same["mean best cosine"] == 1.0
    moved = dataclasses.replace(sae, W_dec=sae.W_dec + rng.normal(scale=0.5, size=sae.W_dec.shape))
    other = distance(sae, moved, X)
    assert other["largest parameter difference"] > 0.5 and other["mean best cosine"] < 0.99


@pytest.mark.claims
@pytest.mark.parametrize("site", ["resid_1", "resid_2"])
def test_the_shipped_saes_are_what_their_recipe_trains(lm, site: str) -> None:
    """Retrained from seed 0 here (and under the portable kernels in CI's second run), the SAE
    the lessons read comes back with the same directions, whatever the last bits of the
    arithmetic: on every computer the lessons' own training gives the shipped SAE's latents."""
    _, _, acts = lm
    retrained = train(64, 4, acts[site].X)
    found = distance(retrained, load_sae(site), acts[site].X)
    assert found["mean best cosine"] > 0.99
