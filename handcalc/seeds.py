"""Fresh hand-friendly problems: `autoencoder_problem(seed)` and `sae_problem(seed)`.

Seed 0 (`CANONICAL`) is the worked example the lessons use (problems.py holds it); any other seed
draws a new hand-friendly problem. A hand-friendly problem has:

- inputs and weights in -3..3 (biases too);
- every value of its trace (forward pass, gradients) an integer with |v| <= MAX_ENTRY, except the
  SAE's decoder-norm gradient, which is a multiple of 1/6 (norms are 1, 2 or 3), and the update
  step, which subtracts lr = 0.01 times a gradient;
- every ReLU zeroing at least one entry, and no pre-activation exactly 0;
- every bias with a non-zero entry, so that leaving the bias out shows;
- a gradient that reaches every weight matrix (no all-zero dW);
- one gradient step (lr = 0.01) that really lowers the loss, so the learner can see it work;
- every SAE decoder column of whole-number length (1, 2 or 3, e.g. (1, 2, 2) has length 3).

A problem is drawn, traced (`traces`) and kept only if its trace passes. The random numbers come
from a small pure-Python generator, so a seed gives the same problem on any machine and with any
numpy version.
"""

from __future__ import annotations

from itertools import permutations, product

import numpy as np

from .problems import (
    CANONICAL,
    AutoencoderProblem,
    SAEProblem,
    canonical_autoencoder,
    canonical_sae,
)
from .traces import autoencoder_trace, sae_trace

MAX_ENTRY = 50  # the largest |value| in any matrix of a generated problem's trace
_MAX_ACTIVATION = 5  # the largest |pre-activation| of a hidden unit
_MAX_ERROR = 3  # the largest |X' - X| of a fresh problem's reconstruction


class _SplitMix64:
    """A tiny, exactly specified random generator (Steele, Lea and Flood's SplitMix64)."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def pick(self, options: list) -> object:
        return options[self.next() % len(options)]

    def matrix(self, shape: tuple[int, ...], options: list[int]) -> np.ndarray:
        return np.array([self.pick(options) for _ in range(int(np.prod(shape)))]).reshape(shape)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a whole number >= 0; got {seed!r}.")
    return int(seed)


# Values are drawn from these lists; repeats make small numbers likelier.
_INPUTS = [-3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3]
_WEIGHTS = [-2, -1, -1, -1, 0, 1, 1, 1, 2]
_BIASES = [-2, -1, 0, 0, 1, 2]


def _whole_norm_columns() -> list[tuple[int, int, int]]:
    """Every 3-D integer vector with entries in -3..3 whose length is a whole number."""
    columns = set()
    for base in [(1, 0, 0), (2, 0, 0), (3, 0, 0), (1, 2, 2)]:
        for perm in permutations(base):
            for signs in product([1, -1], repeat=3):
                columns.add(tuple(s * v for s, v in zip(signs, perm, strict=True)))
    return sorted(columns)


def _is_whole(array: np.ndarray, denominator: int = 1) -> bool:
    scaled = np.asarray(array) * denominator
    return bool(np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-9))


def _trace_ok(trace, fraction_steps: dict[str, int]) -> bool:
    """Every matrix of the trace (up to the update) whole (or a multiple of 1/denominator), small,
    and the gradient reaches every weight matrix."""
    weights = [name for name in trace.names if name.startswith("dW") and "_dec_" not in name]
    if not all(np.any(trace[name]) for name in weights):
        return False
    for name in trace.names:
        if name.endswith("_new") or "loss" in name:
            continue
        value = np.asarray(trace[name])
        if np.abs(value).max() > MAX_ENTRY or not _is_whole(value, fraction_steps.get(name, 1)):
            return False
    return True


Layer = tuple[np.ndarray, np.ndarray]
_ROW_TRIES = 500  # after this many failed rows, the inputs are hopeless: draw a new problem


def _rows(rng: _SplitMix64, n_rows: int, draw, accept) -> Layer | None:
    """(W, b) built a row at a time from draw(row index) -> (w, b) while accept(k, w, b)."""
    rows: list[tuple[np.ndarray, int]] = []
    for _ in range(_ROW_TRIES):
        w, b = draw(len(rows))
        if accept(len(rows), w, b):
            rows.append((w, b))
            if len(rows) == n_rows:
                return np.array([w for w, _ in rows]), np.array([b for _, b in rows])
    return None


def _stepped(problem, trace):
    """The problem with the trace's updated parameters (the result of its one update step)."""
    if isinstance(problem, AutoencoderProblem):
        layers = [
            (trace[f"W{k}_new"], trace[f"b{k}_new"]) for k in range(1, len(problem.layers) + 1)
        ]
        return AutoencoderProblem(problem.X, layers, lr=problem.lr)
    new = {name: trace[f"{name}_new"] for name in ("W_enc", "b_enc", "W_dec", "b_dec")}
    return SAEProblem(problem.X, **new, lam=problem.lam, lr=problem.lr)


def _step_helps(trace, after) -> bool:
    return after["loss"] < trace["loss"]


def _hidden_layer(rng: _SplitMix64, H: np.ndarray, n_out: int) -> Layer | None:
    """Each unit's pre-activation is small, never exactly 0, and positive for some samples and
    negative for others (so its ReLU zeroes something)."""

    def accept(_: int, w: np.ndarray, b: int) -> bool:
        z = w @ H + b
        small = np.abs(z).max() <= _MAX_ACTIVATION
        return bool(small and (z > 0).any() and (z < 0).any() and (z != 0).all())

    return _rows(
        rng, n_out, lambda _: (rng.matrix((H.shape[0],), _WEIGHTS), rng.pick(_BIASES)), accept
    )


def _fitting_bias(WH: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The whole-number bias in -3..3 that best centres X - W H, one per row."""
    return np.clip(np.round((X - WH).mean(axis=-1)), -3, 3).astype(np.int64)


def _output_layer(rng: _SplitMix64, H: np.ndarray, X: np.ndarray) -> Layer | None:
    """Row k reconstructs X's row k within _MAX_ERROR, with the best-centring bias."""

    def draw(k: int) -> tuple[np.ndarray, int]:
        w = rng.matrix((H.shape[0],), _WEIGHTS)
        return w, _fitting_bias(w @ H, X[k])

    return _rows(
        rng, X.shape[0], draw, lambda k, w, b: np.abs(w @ H + b - X[k]).max() <= _MAX_ERROR
    )


def _fitted_decoder(rng: _SplitMix64, F: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Whole-length decoder columns, improved one column at a time (two sweeps, candidates in
    random order) to shrink the largest reconstruction error; like a half-trained SAE."""
    columns = np.array(_whole_norm_columns())
    W_dec = columns[[rng.next() % len(columns) for _ in range(F.shape[0])]].T
    for _ in range(2):
        for j in range(F.shape[0]):
            candidates = columns[[rng.next() % len(columns) for _ in range(len(columns))]]
            rest = W_dec @ F - np.outer(W_dec[:, j], F[j])
            X_hat = rest[None] + candidates[:, :, None] * F[j][None, None, :]
            X_hat += _fitting_bias(X_hat, X[None])[:, :, None]
            W_dec[:, j] = candidates[np.argmin(np.abs(X_hat - X).max(axis=(1, 2)))]
    return W_dec


def autoencoder_problem(seed: int = CANONICAL) -> AutoencoderProblem:
    """The 4 -> 3 -> 2 -> 3 -> 4 autoencoder on 4 samples of 4 features (X is 4x4).

    Seed 0 is the canonical worked example; other seeds draw fresh hand-friendly problems.
    """
    seed = _check_seed(seed)
    if seed == CANONICAL:
        return canonical_autoencoder()
    rng = _SplitMix64(seed)
    while True:
        X = rng.matrix((4, 4), _INPUTS)
        H, layers = X, []
        for n_out in [3, 2, 3]:
            layer = _hidden_layer(rng, H, n_out)
            if layer is None:
                break
            layers.append(layer)
            H = np.maximum(layer[0] @ H + layer[1][:, None], 0)
        if len(layers) < 3 or (output := _output_layer(rng, H, X)) is None:
            continue
        layers.append(output)
        if not all(b.any() for _, b in layers):
            continue  # a bias of zeros: a forgotten bias would go unseen
        problem = AutoencoderProblem(X, layers, seed=seed)
        trace = autoencoder_trace(problem)
        if _trace_ok(trace, {}) and _step_helps(trace, autoencoder_trace(_stepped(problem, trace))):
            return problem


def sae_problem(seed: int = CANONICAL) -> SAEProblem:
    """The sparse autoencoder on 5 tokens of 3-D activations (X is 3x5) with 6 features.

    Seed 0 is the canonical worked example; other seeds draw fresh hand-friendly problems.
    """
    seed = _check_seed(seed)
    if seed == CANONICAL:
        return canonical_sae()
    rng = _SplitMix64(seed)
    while True:
        X = rng.matrix((3, 5), _INPUTS)
        encoder = _hidden_layer(rng, X, 6)
        if encoder is None:
            continue
        W_enc, b_enc = encoder
        F = np.maximum(W_enc @ X + b_enc[:, None], 0)
        if (F == 0).mean() < 0.4 or not (F > 0).any(axis=0).all():  # sparse, every token seen
            continue
        W_dec = _fitted_decoder(rng, F, X)
        b_dec = _fitting_bias(W_dec @ F, X)
        if not b_enc.any() or not b_dec.any():
            continue  # a bias of zeros: a forgotten bias would go unseen
        problem = SAEProblem(
            X=X,
            W_enc=W_enc,
            b_enc=b_enc,
            W_dec=W_dec,
            b_dec=b_dec,
            lam=rng.pick([1, 1, 2]),
            seed=seed,
        )
        trace = sae_trace(problem)
        fractions = {"dW_dec_l1": 6, "dW_dec": 6}
        if _trace_ok(trace, fractions) and _step_helps(trace, sae_trace(_stepped(problem, trace))):
            return problem
