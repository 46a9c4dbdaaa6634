"""The SAEs that lessons 08-11 read, shipped with the course (handcalc/data/saes.npz).

Training an SAE is chaotic: the last bit of a float, which differs from one CPU to another,
turns 2000 steps of TopK training into another SAE with other latent numbers. So the SAEs the
lessons *read* (their dashboards, latents and circuits) ship with the course, as the language
model's weights do, and every computer reads the same ones. The lessons still train SAEs where
training is the point, and compare them with these.

Every SAE here is handcalc.trainer.train_sae (TopK, 2000 steps, seed 0, torch backend) on the
shipped model's activations at its site over corpus(3000, seed=2), normalised by
handcalc.features.collect. Retrain them and see how far the retrained ones are from the shipped
ones: python -m handcalc.shipped [--save].
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .trainer import PARAMS, SAE, train_sae

PATH = Path(__file__).parent / "data" / "saes.npz"
SENTENCES, CORPUS_SEED = 3000, 2  # the corpus every shipped SAE was trained on
STEPS, SEED = 2000, 0
# (site, latents, k): the main SAE of each site, lesson 08's width sweep, 09's and 11's small ones
RECIPES = (
    ("resid_2", 64, 4),
    ("resid_1", 64, 4),
    ("resid_2", 16, 4),
    ("resid_2", 32, 4),
    ("resid_2", 128, 4),
    ("resid_2", 16, 2),
    ("resid_2", 8, 1),
    ("resid_2", 4, 1),
)


def name(site: str, latents: int, k: int) -> str:
    return f"{site}_{latents}_k{k}"


def load_sae(site: str = "resid_2", latents: int = 64, k: int = 4, path: Path = PATH) -> SAE:
    """The shipped TopK SAE with `latents` latents and `k` active at `site` (see RECIPES)."""
    if (site, latents, k) not in RECIPES:
        offered = ", ".join(f"({s!r}, {n}, {kk})" for s, n, kk in RECIPES)
        raise ValueError(f"No shipped SAE ({site!r}, {latents}, {k}); the course ships {offered}.")
    with np.load(path) as saved:
        key = name(site, latents, k)
        return SAE(*(saved[f"{key}.{p}"].copy() for p in PARAMS), k=k)


def shipped(site: str, latents: int, k: int, path: Path = PATH) -> bool:
    """Whether the shipped file holds this SAE (it may not yet, while a new recipe is added)."""
    if not path.exists():
        return False
    with np.load(path) as saved:
        return f"{name(site, latents, k)}.W_enc" in saved.files


def train(latents: int, k: int, X: np.ndarray, seed: int = SEED) -> SAE:
    """The shipped recipe, trained again on normalised activations X (width, tokens): from the
    shipped SAE's seed, or another."""
    return train_sae(X, latents, "topk", k=k, steps=STEPS, seed=seed, progress=False)[0]


def distance(a: SAE, b: SAE, X: np.ndarray) -> dict[str, float]:
    """How far two SAEs are apart: the largest parameter difference, and for the latents that
    fire on X, the mean best cosine of a's decoder columns with b's (1: the same directions)."""
    from .sae import cosine_matrix

    pairs = zip(a.params().values(), b.params().values(), strict=True)
    largest = max(float(np.abs(pa - pb).max()) for pa, pb in pairs)
    live = [(s.encode(X) > 0).any(axis=1) for s in (a, b)]
    cosines = cosine_matrix(a.W_dec[:, live[0]], b.W_dec[:, live[1]])
    return {
        "largest parameter difference": largest,
        "mean best cosine": float(np.abs(cosines).max(axis=1).mean()) if cosines.size else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    """Retrain the shipped SAEs and compare: python -m handcalc.shipped [--save]"""
    import argparse

    import torch

    from .features import collect
    from .grammar import corpus
    from .lm import load
    from .sae import variance_explained

    parser = argparse.ArgumentParser(prog="python -m handcalc.shipped", description=main.__doc__)
    parser.add_argument("--save", action="store_true", help=f"overwrite {PATH.name}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, data = load(), corpus(SENTENCES, seed=CORPUS_SEED)
    saved, acts = {}, {}
    print(f"{'SAE':16} {'seconds':>7} {'live':>5} {'FVE':>6}   against the shipped one")
    for site, latents, k in RECIPES:
        if site not in acts:
            acts[site] = collect(model, data, site).X
        start = time.perf_counter()
        sae = train(latents, k, acts[site])
        seconds = time.perf_counter() - start
        key = name(site, latents, k)
        saved.update({f"{key}.{p}": v for p, v in sae.params().items()})
        F = sae.encode(acts[site])
        live, fve = int((F > 0).any(axis=1).sum()), variance_explained(acts[site], sae.decode(F))
        line = f"{key:16} {seconds:7.1f} {live:5} {fve:6.3f}"
        if shipped(site, latents, k):
            away = distance(sae, load_sae(site, latents, k), acts[site])
            line += (f"   largest parameter difference {away['largest parameter difference']:.1e},"
                     f" mean best cosine {away['mean best cosine']:.3f}")  # fmt: skip
        print(line)
    if args.save:
        np.savez_compressed(PATH, **saved)
        print(f"saved {PATH}")


if __name__ == "__main__":
    main()
