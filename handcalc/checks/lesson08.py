"""Lesson 08's code-exercise checks: reading features (top contexts, logit effects, AUROC,
precision and recall, the variance spectrum, a reading of a latent)."""

from __future__ import annotations

import numpy as np

from .._validate import ArrayLike
from ..feedback import Feedback
from ..mistakes import Suspect
from ..recording import judged
from .core import _listed, compare


@judged()
def check_top_contexts(answer: ArrayLike, activations: ArrayLike, k: int) -> Feedback:
    """Check the indices of the k largest activations, largest first (lesson 08)."""
    a = np.asarray(activations, dtype=float)
    order = np.argsort(-a, kind="stable")

    def mistakes() -> list[Suspect]:
        return _listed("top_contexts", [
            ("Those are the k smallest: sort from the largest down (np.argsort(-a), or reverse "
             "np.argsort(a)).", (np.argsort(a, kind="stable")[:k])),
            ("Those are the activations themselves; return their indices, the positions where "
             "they sit in the array.", (a[order[:k]])),
            ("The right k tokens, but in increasing order: list the largest first.",
             (order[:k][::-1])),
        ])  # fmt: skip

    return compare(answer, order[:k], f"the top {k} tokens", mistakes)


@judged()
def check_logit_effect(
    answer: ArrayLike, direction: ArrayLike, W_U: ArrayLike, gain: ArrayLike
) -> Feedback:
    """Check W_U (gain * (d - mean d)) (lesson 08), naming the steps left out."""
    d, W_U, gain = (np.asarray(x, dtype=float) for x in (direction, W_U, gain))

    def mistakes() -> list[Suspect]:
        return _listed("logit_effect", [
            ("You left out the layer norm's gain: multiply (d - mean d) by gain, entry by "
             "entry, before the unembedding.", (W_U @ (d - d.mean()))),
            ("You left out the centring: the layer norm subtracts the mean of d first.",
             (W_U @ (gain * d))),
            ("You left out both the centring and the gain: the unembedding reads the residual "
             "stream after the final layer norm.", (W_U @ d)),
        ])  # fmt: skip

    return compare(answer, W_U @ (gain * (d - d.mean())), "the logit effect", mistakes)


@judged()
def check_precision_recall(answer, activations: ArrayLike, holds: ArrayLike) -> Feedback:
    """Check (precision, recall) of a latent's firing for a property (lesson 08)."""
    from ..features import precision_recall

    a, holds = np.asarray(activations, dtype=float), np.asarray(holds, dtype=bool)
    right = precision_recall(a, holds)
    fires = a > 0

    def mistakes() -> list[Suspect]:
        everywhere = a >= 0  # counting every token as a firing
        return _listed("precision_recall", [
            ("Precision and recall are swapped: precision divides by the tokens where the latent "
             "fires, recall by the tokens where the property holds.", right[::-1]),
            ("A latent fires where its activation is above 0, not at or above 0: a ReLU latent is "
             "0 on most tokens.", ((everywhere & holds).sum() / everywhere.sum(),
                                   (everywhere & holds).sum() / holds.sum())),
            ("Both are divided by all the tokens: divide by the tokens where the latent fires "
             "(precision) and where the property holds (recall).",
             ((fires & holds).mean(), (fires & holds).mean())),
        ])  # fmt: skip

    return compare(answer, right, "(precision, recall)", mistakes)


@judged()
def check_specificity(answer, activations: ArrayLike, holds: ArrayLike, bands: int = 4) -> Feedback:
    """Check the share of firings where the property holds, by band of activation (lesson 08)."""
    from ..features import specificity_by_band

    a, holds = np.asarray(activations, dtype=float), np.asarray(holds, dtype=bool)
    right, counts = specificity_by_band(a, holds, bands)
    if answer is not None and np.shape(answer) == right.shape:
        given = np.asarray(answer, dtype=float)
        if not np.array_equal(np.isnan(given), np.isnan(right)):
            return Feedback(False, "An empty band has no share: give nan there (and only there). "
                            f"This latent's band counts are {counts.tolist()}.")  # fmt: skip
        answer, right = np.nan_to_num(given, nan=-1.0), np.nan_to_num(right, nan=-1.0)

    def mistakes() -> list[Suspect]:
        fires = a > 0
        order = np.argsort(a[fires], kind="stable")
        quartile = np.array_split(holds[fires][order], bands)  # bands of equal counts instead
        base = (fires & holds).sum() / fires.sum()
        return _listed("specificity", [
            ("These are bands of equal numbers of tokens (quantiles); the bands here are equal "
             "ranges of activation, from 0 to the latent's peak, in steps of peak / bands.",
             [part.mean() for part in quartile]),
            ("Each band's share is the same: you divided the whole latent's hits by its firings "
             "instead of counting within each band.", [base if c else -1.0 for c in counts]),
        ])  # fmt: skip

    return compare(answer, right, "the share in each band", mistakes)


@judged()
def check_variance_spectrum(answer: ArrayLike, X: ArrayLike) -> Feedback:
    """Check the cumulative share of variance in the first 1, 2, ... principal components."""
    from ..features import variance_spectrum

    X = np.asarray(X, dtype=float)
    right = variance_spectrum(X)

    def mistakes() -> list[Suspect]:
        raw = np.linalg.svd(X - X.mean(axis=1, keepdims=True), compute_uv=False)
        power = raw**2
        uncentred = np.linalg.svd(X, compute_uv=False) ** 2
        return _listed("variance_spectrum", [
            ("The singular values are not variances: square them first (the variance along a "
             "component is its singular value squared).", np.cumsum(raw) / raw.sum()),
            ("Each component's own share, not the running total: take np.cumsum.",
             power / power.sum()),
            ("Centre X first (subtract each row's mean): without it the first component points "
             "at the mean, not along the spread.", np.cumsum(uncentred) / uncentred.sum()),
        ])  # fmt: skip

    return compare(answer, right, "the variance spectrum", mistakes)


@judged(answers=2)
def check_hypothesis(latent: int, hypothesis: str, F: ArrayLike, data, acts, read=()) -> Feedback:
    """Test a learner's hypothesis about what a latent means against the grammar's labels (lesson
    08): right when its F1 (precision and recall of firing) is at least 0.75. The feedback also
    says how the reading fits the latent's 20 strongest firings, the evidence a reader sees
    first. `read` lists latents the lesson has already read, which do not count."""
    from ..features import hypothesis_holds, precision_recall, top_contexts

    F = np.asarray(F)
    if not isinstance(latent, int | np.integer) or not 0 <= latent < F.shape[0]:
        return Feedback(False, f"my_latent must be a latent's number, 0 to {F.shape[0] - 1}.")
    if latent in read:
        return Feedback(False, f"The lesson has already read latent {latent}; pick one it has not.")
    if not (F[latent] > 0).any():
        return Feedback(False, f"Latent {latent} is dead (it never fires): there is nothing to "
                        "read. Pick a live one.")  # fmt: skip
    if not isinstance(hypothesis, str):
        return Feedback(False, "my_hypothesis must be a string: a property's name or 'word X'.")
    try:
        holds = hypothesis_holds(hypothesis, data, acts)
    except ValueError as error:
        return Feedback(False, str(error))
    precision, recall = precision_recall(F[latent], holds)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    top = top_contexts(F[latent], 20)
    top = top[F[latent, top] > 0]
    fit = int(holds[top].sum())
    numbers = (f"It holds on {fit} of the latent's {top.size} strongest firings. Over all of "
               f"them: precision {precision:.2f} (the share of its firings where "
               f"'{hypothesis}' holds), recall {recall:.2f} (the share of those tokens where it "
               f"fires), F1 {f1:.2f}.")  # fmt: skip
    if f1 >= 0.75:
        return Feedback(True, f"Correct: the labels support your reading. {numbers}")
    if fit < top.size / 2:
        advice = (
            "Your reading does not describe even its strongest firings: go back to its top "
            "contexts and find what the highlighted tokens share."
        )
    elif precision < recall:
        advice = (
            "Your reading fits its strongest firings, but the latent also fires, more weakly, "
            "on many tokens where the reading does not hold: a latent is more than its top "
            "contexts. Look at the dashboard's lower rows and find what those tokens share."
        )
    else:
        advice = (
            "It fires on only some of the tokens where your hypothesis holds: it is narrower. "
            "Which of those tokens does it pick, and what do they share?"
        )
    return Feedback(False, f"Not supported yet. {numbers} {advice}")


@judged()
def check_auroc(answer: float, scores: ArrayLike, positive: ArrayLike) -> Feedback:
    """Check the AUROC of scores as a detector of positive (lesson 08), ties counting half."""
    from ..features import auroc

    scores, positive = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    above = scores[positive][:, None] > scores[~positive][None, :]
    ties = scores[positive][:, None] == scores[~positive][None, :]
    pairs = above.size

    def mistakes() -> list[Suspect]:
        return _listed("auroc", [
            ("Ties count for nothing here: a positive and a negative token with the same score "
             "(often both 0) count half a win.", above.sum() / pairs),
            ("Ties count as full wins here; they count half.", (above.sum() + ties.sum()) / pairs),
            ("That is the chance a *negative* token scores higher: 1 − AUROC. Count the pairs "
             "where the positive one is above.", 1 - auroc(scores, positive)),
            ("A count, not a chance: divide the wins by the number of (positive, negative) "
             "pairs.", above.sum() + 0.5 * ties.sum()),
        ])  # fmt: skip

    return compare(answer, auroc(scores, positive), "the AUROC", mistakes)
