"""Reading an SAE's features on the course's language model (lessons 08-10).

Activations are collected at every real token (not <bos>, not padding) of a corpus, as columns
(the course's convention): X is (width, tokens). `where` maps each column back to its
(sentence, position), so a feature's activations can be shown in their contexts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import torch

from .grammar import ID, PROPERTIES, VOCAB, Corpus
from .lm import TinyLM


@dataclass
class Activations:
    """X: (width, tokens), centred and scaled so the root-mean-square column length is 1 (mean
    and scale undo that); where: (tokens, 2) sentence and position; labels: (tokens, properties)."""

    X: np.ndarray
    where: np.ndarray
    labels: np.ndarray
    mean: np.ndarray
    scale: float

    def to_model(self, X: np.ndarray) -> np.ndarray:
        """Columns in normalised units back to the model's own activations."""
        return X * self.scale + self.mean[:, None]


def collect(model: TinyLM, data: Corpus, site: str = "resid_2") -> Activations:
    """The model's activations at `site` on every real token of the corpus, normalised."""
    with torch.no_grad():
        _, cache = model.run_with_cache(torch.from_numpy(data.tokens))
    real = (data.tokens != ID["<pad>"]) & (data.tokens != ID["<bos>"])
    where = np.argwhere(real)
    A = cache[site].numpy()[real].astype(np.float64).T  # (width, tokens)
    mean = A.mean(axis=1)
    scale = float(np.sqrt(((A - mean[:, None]) ** 2).sum(axis=0).mean()))
    return Activations((A - mean[:, None]) / scale, where, data.labels[real], mean, scale)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive token scores higher than a
    random negative one (ties count half). 1 is perfect, 0.5 is chance."""
    scores, positive = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2)[inverse]  # tied scores share their mean rank
    p, n = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - p * (p + 1) / 2) / (p * n))


def property_table(F: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of every latent (row of F) for every property (column of labels): (latents, P)."""
    table = np.full((F.shape[0], labels.shape[1]), 0.5)
    for i in np.flatnonzero((F > 0).any(axis=1)):
        for j in range(labels.shape[1]):
            table[i, j] = auroc(F[i], labels[:, j])
    return table


def best_features(table: np.ndarray) -> dict[str, tuple[int, float]]:
    """For each property, the latent with the highest AUROC, and that AUROC."""
    best = table.argmax(axis=0)
    return {p: (int(best[j]), float(table[best[j], j])) for j, p in enumerate(PROPERTIES)}


def best_direction(X: np.ndarray, directions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each property (column of labels), the best AUROC of any direction (column of
    `directions`, d x k) as a detector, read with either sign (a dense direction has no "off"
    side, unlike a latent): the baseline for the SAE's latents. X: (d, tokens)."""
    projected = directions.T @ X
    best = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        scores = [auroc(row, labels[:, j]) for row in projected]
        best[j] = max(max(a, 1 - a) for a in scores)
    return best


def probe_auroc(X: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """For each property, the held-out AUROC of a linear probe (logistic regression trained on
    a random half of the tokens, scored on the other half): how well *any* direction of X
    separates it, the ceiling for a single direction. X: (d, tokens)."""
    from sklearn.linear_model import LogisticRegression

    order = np.random.default_rng(seed).permutation(X.shape[1])
    train, test = order[: X.shape[1] // 2], order[X.shape[1] // 2 :]
    found = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        y = labels[:, j].astype(bool)
        probe = LogisticRegression(max_iter=1000).fit(X[:, train].T, y[train])
        found[j] = auroc(probe.decision_function(X[:, test].T), y[test])
    return found


def top_contexts(activations: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the k largest activations, largest first (ties: earlier token first)."""
    order = np.argsort(-np.asarray(activations), kind="stable")
    return order[:k]


def unembedding(model: TinyLM) -> tuple[np.ndarray, np.ndarray]:
    """W_U (vocab, d_model) and the final layer norm's gain (d_model,), as float64 arrays."""
    W_U = model.unembed.weight.detach().numpy().astype(np.float64)
    return W_U, model.ln_final.weight.detach().numpy().astype(np.float64)


def logit_effect(direction: np.ndarray, W_U: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """How much writing `direction` (model units, (d_model,)) into the last residual stream
    raises each token's logit (vocab,): the unembedding applied after the final layer norm's
    centring and per-dimension gain. (Its division by the spread is left out: that scales all
    tokens alike.)"""
    return W_U @ (gain * (direction - direction.mean()))


# Read after the token a latent fires on, not seen: the token is marked by an underline and a
# shade (by how strongly it fires) for the eye, and by these words for a screen reader.
FIRES_HERE = (
    "<span style='position: absolute; width: 1px; height: 1px; overflow: hidden; "
    "clip: rect(0 0 0 0); white-space: nowrap'> (fires here)</span>"
)


def context_html(data: Corpus, sentence: int, position: int, value: float, peak: float) -> str:
    """One sentence with the token at `position` marked (underlined, shaded by value / peak,
    and followed by FIRES_HERE for a screen reader), its activation after it."""
    parts = []
    for p, t in enumerate(data.tokens[sentence]):
        if t in (ID["<pad>"], ID["<bos>"]):
            continue
        word = html.escape(VOCAB[t])
        if p == position:
            alpha = 0.25 + 0.75 * max(0.0, min(1.0, value / peak)) if peak > 0 else 0.25
            word = (f"<b style='background: rgba(230, 159, 0, {alpha:.2f}); padding: 0 2px; "
                    f"border-bottom: 2px solid black'>{word}</b>{FIRES_HERE}")  # fmt: skip
        parts.append(word)
    return " ".join(parts) + f" <span style='color: #555'>({value:.2f})</span>"


def precision_recall(activations: np.ndarray, holds: np.ndarray) -> tuple[float, float]:
    """Of the tokens where a latent fires (activation > 0), the share where the property holds
    (precision); of the tokens where it holds, the share where the latent fires (recall)."""
    fires, holds = np.asarray(activations) > 0, np.asarray(holds, dtype=bool)
    both = (fires & holds).sum()
    return float(both / max(fires.sum(), 1)), float(both / max(holds.sum(), 1))


def specificity_by_band(
    activations: np.ndarray, holds: np.ndarray, bands: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Split (0, peak] into `bands` equal bands of activation; for each, the share of the tokens
    firing in it where the property holds (nan for an empty band), and how many tokens fire in it
    (Templeton et al. 2024's specificity, by activation level)."""
    a, holds = np.asarray(activations, dtype=float), np.asarray(holds, dtype=bool)
    fires = a > 0
    if not fires.any():  # a dead latent: no band has a token
        return np.full(bands, np.nan), np.zeros(bands, dtype=int)
    band = np.minimum((a / a.max() * bands).astype(int), bands - 1)  # the peak joins the top band
    counts = np.array([(fires & (band == b)).sum() for b in range(bands)])
    held = np.array([(fires & (band == b) & holds).sum() for b in range(bands)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, held / counts, np.nan), counts


def variance_spectrum(X: np.ndarray) -> np.ndarray:
    """The share of X's variance (X: dims x samples) in its first 1, 2, ... principal components
    (cumulative, ending at 1): the squared singular values of the centred X, summed up."""
    centred = X - X.mean(axis=1, keepdims=True)
    power = np.linalg.svd(centred, compute_uv=False) ** 2
    return np.cumsum(power) / power.sum()


def hypothesis_holds(hypothesis: str, data: Corpus, acts: Activations) -> np.ndarray:
    """Where a hypothesis about a latent holds, one boolean per collected token: a property's name
    (one of grammar.PROPERTIES) or "word X" (the token is the word X)."""
    if hypothesis in PROPERTIES:
        return acts.labels[:, PROPERTIES.index(hypothesis)].astype(bool)
    word = hypothesis.removeprefix("word ").strip()
    if hypothesis.startswith("word ") and word in VOCAB:
        return data.tokens[acts.where[:, 0], acts.where[:, 1]] == ID[word]
    raise ValueError(
        f"{hypothesis!r} is not a hypothesis the labels can test: write a property's name "
        f"(one of {', '.join(PROPERTIES)}) or 'word X' for a word X of the vocabulary."
    )


def hypotheses() -> list[str]:
    """Every reading hypothesis_holds can test: each property, then "word X" for each word."""
    return [*PROPERTIES, *(f"word {w}" for w in VOCAB if not w.startswith("<"))]


def explain_automatically(
    F: np.ndarray, data: Corpus, acts: Activations, seed: int = 0
) -> list[tuple[int, str, float]]:
    """A small automated interpreter, after Bills et al. (2023), with a search in place of
    their explainer model: for each live latent (row of F), the *explainer* picks the reading
    (hypotheses()) whose tokens best match the latent's firing (F1) on a random half of the
    tokens; the *scorer* measures that reading's F1 on the other half, which the explainer never
    saw. Returns (latent, reading, held-out F1) for every live latent."""
    names = hypotheses()
    holds = np.array([hypothesis_holds(name, data, acts) for name in names], dtype=float)
    order = np.random.default_rng(seed).permutation(F.shape[1])
    halves = order[: F.shape[1] // 2], order[F.shape[1] // 2 :]

    def f1(fires: np.ndarray, part: np.ndarray) -> np.ndarray:
        both = holds[:, part] @ fires[part]
        return 2 * both / np.maximum(holds[:, part].sum(axis=1) + fires[part].sum(), 1)

    found = []
    for latent in np.flatnonzero((F > 0).any(axis=1)):
        fires = (F[latent] > 0).astype(float)
        chosen = int(np.argmax(f1(fires, halves[0])))
        found.append((int(latent), names[chosen], float(f1(fires, halves[1])[chosen])))
    return found


@dataclass
class Absorption:
    """What becomes of one property's tokens that its best latent misses (see `absorption`)."""

    main: int  # the latent with the best F1 for the property
    precision: float
    recall: float
    misses: np.ndarray  # (tokens,) bool: the property holds, the main latent is silent
    absorber: int | None  # the latent that fires on most of the misses (None: no misses)
    covered: float  # the share of the misses on which the absorber fires
    cosine: float  # cosine of the absorber's decoder column with the property's direction
    on_misses: float  # the layer's mean projection on that direction at the misses
    elsewhere: float  # ... and at the tokens where the property does not hold


def absorption(F: np.ndarray, W_dec: np.ndarray, X: np.ndarray, holds: np.ndarray) -> Absorption:
    """Feature absorption (Chanin et al. 2024), measured for one property: the best latent for
    it by F1, the tokens where it holds and that latent stays silent, and on those the latent
    that fires most often, with its decoder column's cosine to the property's direction (the
    mean of X where it holds minus where it does not). F: (latents, tokens); W_dec: (d,
    latents); X: (d, tokens)."""
    holds = np.asarray(holds, dtype=bool)
    scores = [precision_recall(a, holds) for a in F]
    f1 = [2 * p * r / (p + r) if p + r > 0 else 0.0 for p, r in scores]
    main = int(np.argmax(f1))
    direction = X[:, holds].mean(axis=1) - X[:, ~holds].mean(axis=1)
    direction /= np.linalg.norm(direction)
    misses = holds & (F[main] <= 0)
    projection = direction @ X
    elsewhere = float(projection[~holds].mean())
    if not misses.any():
        return Absorption(main, *scores[main], misses, None, 0.0, 0.0, float("nan"), elsewhere)
    share = (F[:, misses] > 0).mean(axis=1)
    share[main] = 0.0
    absorber = int(np.argmax(share))
    column = W_dec[:, absorber] / np.linalg.norm(W_dec[:, absorber])
    return Absorption(
        main, *scores[main], misses, absorber, float(share[absorber]),
        float(column @ direction), float(projection[misses].mean()), elsewhere,
    )  # fmt: skip
