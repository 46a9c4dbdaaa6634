"""Benchmark: the course's SAE trainer against scikit-learn's MiniBatchDictionaryLearning on the
same planted-feature data (64 true features in 32 dims, about 4 active per sample).

    python tools/benchmark_sae.py

Prints one table from one run: seconds, seconds per step, MMCS, fraction of true features
recovered (cosine > 0.9), L0 and fraction of variance explained.
"""

from __future__ import annotations

import time
import warnings

from sklearn.decomposition import MiniBatchDictionaryLearning

from handcalc.sae import l0, mmcs, planted_features, recovered, variance_explained
from handcalc.trainer import train_sae

STEPS, BATCH, LATENTS = 2000, 256, 128


def course(data, method: str, backend: str) -> dict:
    start = time.perf_counter()
    sae, _ = train_sae(
        data.X, LATENTS, method, steps=STEPS, batch_size=BATCH, backend=backend, progress=False
    )
    seconds = time.perf_counter() - start
    F = sae.encode(data.X)
    return {
        "name": f"course {method} ({backend})",
        "seconds": seconds,
        "per step": seconds / STEPS,
        "W": sae.W_dec,
        "F": F,
        "X_hat": sae.decode(F),
    }


def sklearn(data, alpha: float = 0.1) -> dict:
    model = MiniBatchDictionaryLearning(
        n_components=LATENTS,
        alpha=alpha,
        batch_size=BATCH,
        max_iter=20,
        transform_algorithm="lasso_cd",
        transform_alpha=alpha,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter
        codes = model.fit_transform(data.X.T)
    seconds = time.perf_counter() - start
    return {
        "name": f"sklearn MiniBatchDictionaryLearning (alpha {alpha})",
        "seconds": seconds,
        "per step": float("nan"),
        "W": model.components_.T,
        "F": codes.T,
        "X_hat": (codes @ model.components_).T,
    }


def main() -> None:
    data = planted_features(d=32, n_true=64, n_samples=8192, active=4, seed=0)
    rows = [course(data, m, b) for m in ("l1", "topk") for b in ("torch", "numpy")]
    rows.append(sklearn(data))
    print(f"planted data: 64 true features in 32 dims, 8192 samples; SAEs with {LATENTS} latents")
    columns = ["seconds", "ms/step", "MMCS", "recov.", "L0", "FVE"]
    header = f"{'trainer':46} " + " ".join(
        f"{c:>8}" if i < 2 else f"{c:>6}" for i, c in enumerate(columns)
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:46} {row['seconds']:8.2f} {1000 * row['per step']:8.2f} "
            f"{mmcs(row['W'], data.directions):6.3f} {recovered(row['W'], data.directions):6.2f} "
            f"{l0(row['F']):6.1f} {variance_explained(data.X, row['X_hat']):6.3f}"
        )


if __name__ == "__main__":
    main()
