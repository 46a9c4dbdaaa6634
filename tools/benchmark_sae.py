"""Benchmark: the course's SAE trainer against scikit-learn's MiniBatchDictionaryLearning on the
same planted-feature data (64 true features in 32 dims, about 4 active per sample).

    .venv/bin/python tools/benchmark_sae.py

Prints two tables from one run.
1. Whole runs: seconds, milliseconds per step, MMCS, fraction of the true features recovered
   (cosine > 0.9), L0, fraction of variance explained, dead latents.
2. Time to reach scikit-learn's recovery: scikit-learn's own time (partial_fit, one batch at a
   time) against each course trainer's (the shortest run, in steps of 25, that gets there; a run
   of s steps is exactly the first s steps of a longer one, the batches being the same).

PyTorch runs twice: with its default number of threads and with one, which is faster on
matrices this small (starting threads costs more than the work they share).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.decomposition import MiniBatchDictionaryLearning

from handcalc.sae import dead_latents, l0, mmcs, planted_features, recovered, variance_explained
from handcalc.trainer import batches, train_sae

LATENTS, BATCH, STEPS, ALPHA = 128, 256, 2000, 0.3
DATA = planted_features(d=32, n_true=64, n_samples=8192, active=4, seed=0)
BACKENDS = ("torch", "torch 1 thread", "numpy")


@contextmanager
def threads(backend: str) -> Iterator[str]:
    """Run a backend label: "torch 1 thread" is torch with one intra-op thread."""
    before = torch.get_num_threads()
    if backend == "torch 1 thread":
        torch.set_num_threads(1)
    try:
        yield backend.split()[0]
    finally:
        torch.set_num_threads(before)


def course(method: str, backend: str, steps: int = STEPS) -> dict:
    with threads(backend) as name:
        start = time.perf_counter()
        sae, _ = train_sae(
            DATA.X, LATENTS, method, steps=steps, batch_size=BATCH, backend=name, progress=False
        )
        seconds = time.perf_counter() - start
    F = sae.encode(DATA.X)
    return {"W": sae.W_dec, "F": F, "X_hat": sae.decode(F), "seconds": seconds, "steps": steps}


def sklearn_model() -> MiniBatchDictionaryLearning:
    return MiniBatchDictionaryLearning(
        n_components=LATENTS,
        alpha=ALPHA,
        batch_size=BATCH,
        transform_algorithm="lasso_cd",
        transform_alpha=ALPHA,
        random_state=0,
    )


def sklearn_fit() -> dict:
    model = sklearn_model()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter
        model.fit(DATA.X.T)
    seconds = time.perf_counter() - start
    codes = model.transform(DATA.X.T)
    return {
        "W": model.components_.T,
        "F": codes.T,
        "X_hat": (codes @ model.components_).T,
        "seconds": seconds,
        "steps": model.n_steps_,
    }


def sklearn_time_to(target: float) -> tuple[float, int]:
    """scikit-learn's seconds and batches (partial_fit, our batches) to recover `target`."""
    model, spent = sklearn_model(), 0.0
    for step, batch in enumerate(batches(DATA.X, 400, BATCH, seed=0), 1):
        start = time.perf_counter()
        model.partial_fit(batch.T)
        spent += time.perf_counter() - start
        if recovered(model.components_.T, DATA.directions) >= target:
            return spent, step
    return float("nan"), 400


def course_time_to(method: str, backend: str, target: float) -> tuple[float, int]:
    for steps in range(25, STEPS + 1, 25):
        run = course(method, backend, steps)
        if recovered(run["W"], DATA.directions) >= target:
            return run["seconds"], steps
    return float("nan"), STEPS


def main() -> None:
    course("l1", "torch", 20)  # warm up: torch's first call pays for loading its kernels
    print(
        f"Planted data: 64 true features in 32 dims, 8192 samples, about 4 active per sample.\n"
        f"SAEs with {LATENTS} latents, batches of {BATCH}; the course's trainers run {STEPS} "
        f"steps; scikit-learn (alpha {ALPHA}) stops by its own convergence test.\n"
    )
    rows = {f"course {m} ({b})": course(m, b) for m in ("l1", "kl", "topk") for b in BACKENDS}
    rows["sklearn MiniBatchDictionaryLearning"] = sklearn_fit()
    header = (
        f"{'trainer':36} {'seconds':>8} {'ms/step':>8} {'MMCS':>6} {'recov.':>6} {'L0':>6} "
        f"{'FVE':>6} {'dead':>5}"
    )
    print(header + "\n" + "-" * len(header))
    for name, r in rows.items():
        print(
            f"{name:36} {r['seconds']:8.2f} {1000 * r['seconds'] / r['steps']:8.2f} "
            f"{mmcs(r['W'], DATA.directions):6.3f} {recovered(r['W'], DATA.directions):6.2f} "
            f"{l0(r['F']):6.1f} {variance_explained(DATA.X, r['X_hat']):6.3f} "
            f"{int(dead_latents(r['F']).sum()):5d}"
        )

    target = recovered(rows["sklearn MiniBatchDictionaryLearning"]["W"], DATA.directions)
    sk_seconds, sk_steps = sklearn_time_to(target)
    print(f"\nTime to recover {target:.2f} of the true features (scikit-learn's final recovery):")
    header = f"{'trainer':36} {'steps':>6} {'seconds':>8} {'faster than sklearn':>20}"
    print(header + "\n" + "-" * len(header))
    print(f"{'sklearn (partial_fit per batch)':36} {sk_steps:6d} {sk_seconds:8.2f} {'':>20}")
    for method in ("l1", "kl", "topk"):
        for backend in BACKENDS:
            seconds, steps = course_time_to(method, backend, target)
            speedup = f"{sk_seconds / seconds:.1f}x" if np.isfinite(seconds) else "never"
            print(f"{f'course {method} ({backend})':36} {steps:6d} {seconds:8.2f} {speedup:>20}")


if __name__ == "__main__":
    main()
