"""Training sparse autoencoders, two ways that give the same numbers step for step:

- backend="numpy": the hand-derived gradients of lesson 06 (handcalc's own functions);
- backend="torch": PyTorch's autograd on the same loss.

Both use the same initialisation and the same batches in float64; the numpy path's Adam is
written the way PyTorch's computes, so the two agree step for step (tests/test_trainer.py).
Columns are samples: X is d x n. The SAE is lesson 06's: F = ReLU(W_enc X + b_enc),
X' = W_dec F + b_dec.

Sparsity methods:
- "l1": loss = mean over samples of ||x - x'||^2 + lam * sum_i f_i ||W_dec[:, i]||;
- "kl": loss = mean over samples of ||x - x'||^2 + beta * sum_i KL(rho || rate_i) (handcalc.kl);
- "topk": keep each sample's k largest positive pre-activations, zero the rest; no penalty
  (Gao et al. 2024);
- "batchtopk": keep the batch's k x n largest positive pre-activations, so that a sample may
  use more or fewer than k (Bussmann et al. 2024); after training, one threshold, the mean over
  the steps of the smallest activation kept, replaces the batch (SAE.threshold);
- "jumprelu": a learned threshold per latent and the L0 itself as the penalty, weighed by lam
  (Rajamanoharan et al. 2024b; handcalc.jumprelu);
- "gated": a gate path that decides which latents fire and a magnitude path that says how much,
  with an L1 penalty on the gate and an auxiliary loss (Rajamanoharan et al. 2024a;
  handcalc.gated).

Two standard practices are options for every method: `pre_bias`, the encoder reads x - b_dec
(Bricken et al. 2023; Gated SAEs always do), and `unit_norm`, the decoder's columns are kept at
length 1, the part of their gradient along each column removed before the step and the column
rescaled after it (Bricken et al. 2023).

Reductions: the squared error is summed over the dimensions and averaged over the samples, and
so is each penalty (some introductions' minimal SAEs take lam times the mean of |f| over
samples *and* latents, m times smaller for the same lam).

Dead latents can be resampled: every `resample_every` steps, each latent that has not fired
since the last check gets a fresh direction: the residual x - x' of one of the batch's worst
reconstructed samples, taken in order of their squared error. (Anthropic's "Towards
Monosemanticity" recipe differs: it samples inputs with probability proportional to their
squared loss and points the latent at the input itself.)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from tqdm.auto import tqdm

from . import gated, jumprelu
from ._validate import trusted
from .backward import l1_decoder_grad, linear_backward
from .kl import RATE_RANGE, TAU, kl_penalty
from .sae import l0, variance_explained
from .steps import l1_grad, linear, mse_grad

PARAMS = ("W_enc", "b_enc", "W_dec", "b_dec")
EXTRA = ("log_threshold", "r_mag", "b_mag")  # JumpReLU's; Gated's
METHODS = ("l1", "kl", "topk", "batchtopk", "jumprelu", "gated")
RESAMPLE_SCALE = 0.2


@dataclass
class SAE:
    """W_enc: (m, d), b_enc: (m,), W_dec: (d, m), column j feature j's direction, b_dec: (d,).
    k: TopK's latents per sample (BatchTopK's on average, batch_topk True; its threshold once
    trained). log_threshold (m,): a JumpReLU SAE's log θ. r_mag, b_mag (m,): a Gated SAE's
    magnitude path (W_enc and b_enc are its gate). pre_bias: encode x - b_dec."""

    W_enc: np.ndarray
    b_enc: np.ndarray
    W_dec: np.ndarray
    b_dec: np.ndarray
    k: int | None = None
    log_threshold: np.ndarray | None = None
    r_mag: np.ndarray | None = None
    b_mag: np.ndarray | None = None
    pre_bias: bool = False
    batch_topk: bool = False
    threshold: float | None = None

    def encoder_input(self, X: np.ndarray) -> np.ndarray:
        return X - self.b_dec[:, None] if self.pre_bias else X

    def encode(self, X: np.ndarray) -> np.ndarray:
        """The features F (m, n) of samples X (d, n)."""
        X_in = self.encoder_input(X)
        Z = self.W_enc @ X_in + self.b_enc[:, None]
        if self.r_mag is not None:
            return gated.features(Z, gated.magnitudes(self, X_in))
        if self.log_threshold is not None:
            return jumprelu.jumprelu(Z, np.exp(self.log_threshold))
        if self.batch_topk and self.threshold is not None:
            return Z * (Z > self.threshold)
        return Z * active(Z, self.k, self.batch_topk)

    def decode(self, F: np.ndarray) -> np.ndarray:
        return self.W_dec @ F + self.b_dec[:, None]

    def params(self) -> dict[str, np.ndarray]:
        """The trained arrays by name: PARAMS, then the method's own (EXTRA)."""
        names = [*PARAMS, *(name for name in EXTRA if getattr(self, name) is not None)]
        return {name: getattr(self, name) for name in names}

    def copy(self) -> SAE:
        return replace(self, **{name: value.copy() for name, value in self.params().items()})


def active(Z: np.ndarray, k: int | None = None, batch: bool = False) -> np.ndarray:
    """Which pre-activations pass (m, n booleans): Z > 0 (ReLU), and, for TopK, among each
    column's k largest (batch: among the whole batch's k x n largest)."""
    mask = Z > 0
    if batch and k is not None and k * Z.shape[1] < Z.size:
        kth = -np.partition(-Z.ravel(), k * Z.shape[1] - 1)[k * Z.shape[1] - 1]
        mask &= Z >= kth
    elif k is not None and k < Z.shape[0]:
        kth = -np.partition(-Z, k - 1, axis=0)[k - 1]  # each column's k-th largest value
        mask &= Z >= kth
    return mask


def init_sae(
    X: np.ndarray,
    n_latents: int,
    seed: int = 0,
    k: int | None = None,
    method: str = "l1",
    pre_bias: bool = False,
) -> SAE:
    """Random unit decoder columns, the encoder their transpose, b_dec the data mean; for
    "jumprelu" every θ at jumprelu.START_THRESHOLD, for "gated" r_mag = b_mag = 0 (and the
    encoder reads x - b_dec)."""
    rng = np.random.default_rng(seed)
    W_dec = rng.normal(size=(X.shape[0], n_latents))
    W_dec /= np.linalg.norm(W_dec, axis=0)
    sae = SAE(W_dec.T.copy(), np.zeros(n_latents), W_dec, X.mean(axis=1), k, pre_bias=pre_bias)
    if method == "jumprelu":
        sae.log_threshold = np.full(n_latents, np.log(jumprelu.START_THRESHOLD))
    if method == "gated":
        sae.r_mag, sae.b_mag, sae.pre_bias = np.zeros(n_latents), np.zeros(n_latents), True
    return sae


@dataclass
class Penalty:
    """The sparsity penalty's settings: lam, the weight of L1 (of the gate's L1 for a Gated
    SAE, of L0 for a JumpReLU SAE); KL weight beta and target rate rho; JumpReLU's bandwidth ε."""

    lam: float = 0.0
    beta: float = 0.0
    rho: float = 0.03
    bandwidth: float = jumprelu.BANDWIDTH


def numpy_gradients(
    sae: SAE, X: np.ndarray, penalty: Penalty
) -> tuple[float, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Loss, gradients, F and X' by hand (lesson 06, averaged over the n samples of the batch)."""
    if sae.r_mag is not None:
        return gated.gradients(sae, X, penalty.lam)
    n, lam = X.shape[1], penalty.lam
    X_in = sae.encoder_input(X)
    Z = linear(sae.W_enc, sae.b_enc, X_in)
    jump = sae.log_threshold is not None
    threshold = np.exp(sae.log_threshold) if jump else None
    passes = Z > threshold[:, None] if jump else active(Z, sae.k, sae.batch_topk)
    F = Z * passes
    X_hat = linear(sae.W_dec, sae.b_dec, F)
    error = ((X_hat - X) ** 2).sum()
    dX_hat = mse_grad(X_hat, X) / n
    dW_dec, db_dec, dF = linear_backward(dX_hat, sae.W_dec, F)  # dF: the reconstruction's part
    grads = {"W_dec": dW_dec, "b_dec": db_dec}
    if jump:  # the L0 penalty reaches θ only (handcalc.jumprelu)
        loss = (error + lam * passes.sum()) / n
        dtheta = jumprelu.threshold_grads(Z, threshold, dF, lam, n, penalty.bandwidth)
        grads["log_threshold"] = dtheta * threshold
    else:
        norms = np.sqrt((sae.W_dec**2).sum(axis=0))
        loss = (error + lam * (F.sum(axis=1) * norms).sum()) / n
        if lam:
            dF = dF + l1_grad(F, sae.W_dec, lam) / n
            grads["W_dec"] = grads["W_dec"] + l1_decoder_grad(F, sae.W_dec, lam) / n
        if penalty.beta:
            kl, dF_kl, dW_dec_kl = kl_penalty(F, sae.W_dec, penalty.rho, penalty.beta)
            loss, dF, grads["W_dec"] = loss + kl, dF + dF_kl, grads["W_dec"] + dW_dec_kl
    grads["W_enc"], grads["b_enc"], dX_in = linear_backward(dF * passes, sae.W_enc, X_in)
    if sae.pre_bias:  # the encoder reads x - b_dec: b_dec gets minus what x would
        grads["b_dec"] = grads["b_dec"] - dX_in.sum(axis=1)
    return float(loss), {name: grads[name] for name in sae.params()}, F, X_hat


def unit_norm_grad(W_dec: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The decoder's gradient without its part along each (unit) column: a step then turns the
    columns instead of stretching them."""
    return grad - (grad * W_dec).sum(axis=0) * W_dec


def normalise_columns(W_dec: np.ndarray) -> None:
    """Rescale each decoder column to length 1, in place."""
    W_dec /= np.linalg.norm(W_dec, axis=0)


@dataclass
class Adam:
    """Adam, written out as PyTorch computes it, so both backends take identical steps."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    t: int = 0
    m: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        for name, grad in grads.items():
            m = self.m[name] = b1 * self.m.get(name, 0.0) + (1 - b1) * grad
            v = self.v[name] = b2 * self.v.get(name, 0.0) + (1 - b2) * grad * grad
            denom = np.sqrt(v) / np.sqrt(1 - b2**self.t) + self.eps
            params[name] -= self.lr / (1 - b1**self.t) * m / denom


@dataclass
class History:
    """Per step, on that step's batch: the loss, L0 and the fraction of variance explained; and
    (step, how many) for each resampling of dead latents."""

    loss: list[float] = field(default_factory=list)
    l0: list[float] = field(default_factory=list)
    variance_explained: list[float] = field(default_factory=list)
    resampled: list[tuple[int, int]] = field(default_factory=list)


def batches(X: np.ndarray, steps: int, batch_size: int, seed: int):
    """The batches train_sae steps through (the same for both backends, and for a loop of the
    learner's own): shuffled passes over the samples."""
    rng = np.random.default_rng(seed)
    order, start = rng.permutation(X.shape[1]), 0
    for _ in range(steps):
        if start + batch_size > X.shape[1]:
            order, start = rng.permutation(X.shape[1]), 0
        yield X[:, order[start : start + batch_size]]
        start += batch_size


def resample(sae: SAE, dead: np.ndarray, X: np.ndarray, X_hat: np.ndarray) -> None:
    """Point each dead latent (indices) at the residual x - x' of one of the worst reconstructed
    samples of X (d, n): unit decoder column, encoder row 0.2 x the alive rows' mean length,
    bias 0. Changes sae in place."""
    residual = X - X_hat
    worst = np.argsort(-(residual**2).sum(axis=0), kind="stable")
    directions = residual[:, np.resize(worst, dead.size)]
    directions /= np.maximum(np.linalg.norm(directions, axis=0), 1e-12)
    alive = np.setdiff1d(np.arange(sae.b_enc.size), dead)
    scale = RESAMPLE_SCALE * np.linalg.norm(sae.W_enc[alive], axis=1).mean() if alive.size else 1.0
    sae.W_dec[:, dead] = directions
    sae.W_enc[dead] = scale * directions.T
    sae.b_enc[dead] = 0.0
    if sae.log_threshold is not None:
        sae.log_threshold[dead] = np.log(jumprelu.START_THRESHOLD)
    if sae.r_mag is not None:
        sae.r_mag[dead], sae.b_mag[dead] = 0.0, 0.0


def _forget(state: dict[str, np.ndarray], dead: np.ndarray) -> None:
    """Zero the optimiser's running averages for the resampled latents."""
    state["W_enc"][dead] = 0.0
    state["b_enc"][dead] = 0.0
    state["W_dec"][:, dead] = 0.0
    for name in EXTRA:
        if name in state:
            state[name][dead] = 0.0


def _numpy_stepper(sae: SAE, penalty: Penalty, lr: float, unit_norm: bool):
    params, adam = sae.params(), Adam(lr=lr)

    def step(batch: np.ndarray):
        with trusted():  # every array here is the trainer's own: skip the learner-input checks
            loss, grads, F, X_hat = numpy_gradients(sae, batch, penalty)
        if unit_norm:
            grads["W_dec"] = unit_norm_grad(sae.W_dec, grads["W_dec"])
        adam.step(params, grads)
        if unit_norm:
            normalise_columns(sae.W_dec)
        return loss, F, X_hat

    def forget(dead: np.ndarray) -> None:
        _forget(adam.m, dead)
        _forget(adam.v, dead)

    return step, forget


def _torch_loss(sae: SAE, p: dict, x, penalty: Penalty):
    """The loss of each method in torch, for autograd: (loss, f, x_hat)."""
    import torch

    if sae.r_mag is not None:
        return gated.torch_loss(p, x, penalty.lam)
    x_in = x - p["b_dec"][:, None] if sae.pre_bias else x
    z = p["W_enc"] @ x_in + p["b_enc"][:, None]
    n = x.shape[1]
    if sae.log_threshold is not None:
        jump, step = jumprelu.torch_functions(penalty.bandwidth)
        theta = torch.exp(p["log_threshold"])
        f = jump(z, theta)
        x_hat = p["W_dec"] @ f + p["b_dec"][:, None]
        return (((x_hat - x) ** 2).sum() + penalty.lam * step(z, theta).sum()) / n, f, x_hat
    passes = z > 0
    if sae.batch_topk and sae.k is not None and sae.k * n < z.numel():
        passes &= z >= torch.topk(z.flatten(), sae.k * n).values[-1]
    elif sae.k is not None and sae.k < z.shape[0]:
        passes &= z >= torch.topk(z, sae.k, dim=0).values[-1]
    f = z * passes
    x_hat = p["W_dec"] @ f + p["b_dec"][:, None]
    norms = torch.linalg.vector_norm(p["W_dec"], dim=0)
    loss = (((x_hat - x) ** 2).sum() + penalty.lam * (f.sum(dim=1) * norms).sum()) / n
    if penalty.beta:
        rates = (1 - torch.exp(-f * norms[:, None] / TAU)).mean(dim=1).clamp(*RATE_RANGE)
        rho = penalty.rho
        kl = rho * torch.log(rho / rates) + (1 - rho) * torch.log((1 - rho) / (1 - rates))
        loss = loss + penalty.beta * kl.sum()
    return loss, f, x_hat


def _torch_stepper(sae: SAE, penalty: Penalty, lr: float, unit_norm: bool):
    import torch

    # The parameters share memory with sae's arrays: torch's updates are sae's updates.
    p = {name: torch.nn.Parameter(torch.from_numpy(value)) for name, value in sae.params().items()}
    optimizer = torch.optim.Adam(p.values(), lr=lr)

    def step(batch: np.ndarray):
        loss, f, x_hat = _torch_loss(sae, p, torch.from_numpy(batch), penalty)
        optimizer.zero_grad()
        loss.backward()
        if unit_norm:
            with torch.no_grad():
                w, g = p["W_dec"], p["W_dec"].grad
                g -= (g * w).sum(dim=0) * w
        optimizer.step()
        if unit_norm:
            with torch.no_grad():
                p["W_dec"] /= torch.linalg.vector_norm(p["W_dec"], dim=0)
        return loss.item(), f.detach().numpy(), x_hat.detach().numpy()

    def forget(dead: np.ndarray) -> None:
        for key in ("exp_avg", "exp_avg_sq"):
            _forget({name: optimizer.state[t][key].numpy() for name, t in p.items()}, dead)

    return step, forget


def train_sae(
    X: np.ndarray,
    n_latents: int,
    method: str = "l1",
    lam: float = 0.3,
    k: int = 4,
    rho: float = 0.03,
    beta: float = 1.0,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-2,
    resample_every: int | None = None,
    seed: int = 0,
    backend: str = "torch",
    progress: bool = True,
    start: SAE | None = None,
    pre_bias: bool = False,
    unit_norm: bool = False,
    bandwidth: float = jumprelu.BANDWIDTH,
) -> tuple[SAE, History]:
    """Train an SAE on X (d, n), samples as columns, with sparsity `method`: "l1" (weight lam),
    "kl" (weight beta, target rate rho), "topk" (k per sample), "jumprelu" (L0 weight lam,
    kernel width bandwidth) or "gated" (gate L1 weight lam). Returns the SAE and its History
    (measured on each step's batch, before that step's update). start: train a copy of this SAE
    (with a fresh optimiser) instead of a new one. pre_bias, unit_norm: see the module's text."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    if backend not in ("numpy", "torch"):
        raise ValueError(f'backend must be "numpy" or "torch"; got {backend!r}.')
    X = np.asarray(X, dtype=np.float64)
    if start is None:
        counted = k if method in ("topk", "batchtopk") else None
        sae = init_sae(X, n_latents, seed, counted, method, pre_bias)
        sae.batch_topk = method == "batchtopk"
    elif start.b_enc.size != n_latents:
        raise ValueError(f"start has {start.b_enc.size} latents, but n_latents is {n_latents}.")
    else:
        sae = start.copy()
    weighed = method in ("l1", "jumprelu", "gated")
    penalty = Penalty(lam if weighed else 0.0, beta if method == "kl" else 0.0, rho, bandwidth)
    stepper = _numpy_stepper if backend == "numpy" else _torch_stepper
    step, forget = stepper(sae, penalty, lr, unit_norm)
    stream = batches(X, steps, batch_size, seed)
    history, fired, smallest = History(), np.zeros(n_latents, dtype=bool), []
    desc = f"SAE {method} ({backend})"
    for t, batch in enumerate(tqdm(stream, total=steps, disable=not progress, desc=desc), 1):
        loss, F, X_hat = step(batch)
        history.loss.append(loss)
        history.l0.append(l0(F))
        history.variance_explained.append(variance_explained(batch, X_hat))
        fired |= (F > 0).any(axis=1)
        if sae.batch_topk and (F > 0).any():
            smallest.append(F[F > 0].min())
        if resample_every and t % resample_every == 0 and t + resample_every <= steps:
            dead = np.flatnonzero(~fired)
            if dead.size:
                resample(sae, dead, batch, X_hat)
                forget(dead)
                history.resampled.append((t, int(dead.size)))
            fired[:] = False
    if smallest:  # BatchTopK at inference: one threshold instead of the batch
        sae.threshold = float(np.mean(smallest))
    return sae, history
