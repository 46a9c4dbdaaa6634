"""Feature circuits (lesson 10): which features cause a decision, and through which others.

Attribution is gradient x activation. For a metric m (here: how much the model prefers the
right verb form), a node with value a contributes about a * dm/da; between a clean input and a
corrupted one, about (a_clean - a_corrupt) * dm/da (attribution patching). Edges are the same
quantity for one node's effect on another.

The toy of the blog post "A recipe for feature circuits with sparse autoencoders in LLMs": a
2 -> 4 -> 2 network that reads "singular" or "plural" and picks "runs" or "run", with a ReLU SAE
on its 4 hidden units. Its graph is exact: every piece is
linear once the ReLUs have chosen, so the edges into the output add up to the logit difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .features import Activations
from .grammar import BE, CONSTRUCTIONS, ID, NOUNS, TRANSITIVE, VOCAB, Corpus
from .grammar import VERBS as MAIN_VERBS
from .lm import TinyLM, verb_logit_difference
from .steering import torch_codec
from .trainer import SAE, train_sae


class AgreementToy(nn.Module):
    """x (2: singular, plural evidence) -> ReLU(hidden 4) -> logits (2: runs, run). No biases:
    the decision has to go through the hidden units."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 4, bias=False)
        self.output = nn.Linear(4, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(self.hidden(x)))


def toy_data(n: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, 2): the evidence for the subject's number, of random strength in [0.5, 1.5]
    with a little noise on both; labels (n,): 0 singular, 1 plural."""
    rng = np.random.default_rng(seed)
    plural = rng.integers(2, size=n)
    x = np.eye(2)[plural] * rng.uniform(0.5, 1.5, size=(n, 1)) + rng.normal(0, 0.05, (n, 2))
    return x, plural


def train_toy(seed: int = 0, steps: int = 300) -> AgreementToy:
    """Train the toy to pick "runs" for singular and "run" for plural (float64, Adam)."""
    torch.manual_seed(seed)
    model = AgreementToy().double()
    x, y = (torch.from_numpy(a) for a in toy_data(seed=seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def toy_hidden(model: AgreementToy, x: np.ndarray) -> np.ndarray:
    """Hidden activations, columns as samples: (4, n)."""
    with torch.no_grad():
        return torch.relu(model.hidden(torch.from_numpy(x))).numpy().T


def toy_sae(model: AgreementToy, seed: int = 0) -> SAE:
    """An L1 SAE with 4 latents on the toy's hidden layer."""
    H = toy_hidden(model, toy_data(2048, seed=seed + 1)[0])
    return train_sae(H, 4, "l1", lam=0.05, steps=1500, seed=seed, progress=False)[0]


TOY_SEEDS = (1, 2, 5, 6, 9)  # seeds whose toy trains cleanly (tests/test_circuits.py checks them)


@dataclass
class ToyGraph:
    """One input's graph. Node values: x (2), h (4), f (latents), error (4), and the metric m
    = logit(runs) - logit(run). Every edge carries the share of m that flows along it (Marks et
    al.'s definition: source value x d(target)/d(source) x dm/d(target)), so the edges into a
    node add up to that node's own share of m, and the shares into m add up to m exactly:
    x_to_h (4, 2), h_to_f (latents, 4), b_enc_to_f (latents,), f_to_m (latents,), error_to_m
    and bias_to_m (b_dec's share; numbers)."""

    x: np.ndarray
    h: np.ndarray
    f: np.ndarray
    error: np.ndarray
    m: float
    x_to_h: np.ndarray
    h_to_f: np.ndarray
    b_enc_to_f: np.ndarray
    f_to_m: np.ndarray
    error_to_m: float
    bias_to_m: float


def toy_graph(model: AgreementToy, sae: SAE, x: np.ndarray) -> ToyGraph:
    """The graph of one input x (2,), with the SAE spliced into the hidden layer (error kept)."""
    W1 = model.hidden.weight.detach().numpy()
    W2 = model.output.weight.detach().numpy()
    h = np.maximum(W1 @ x, 0)
    f = sae.encode(h[:, None])[:, 0]
    error = h - sae.decode(f[:, None])[:, 0]
    readout = W2[0] - W2[1]  # dm/dh: with the error kept, the spliced h is h itself
    per_f = sae.W_dec.T @ readout  # dm/df
    alive, on = (W1 @ x) > 0, f > 0
    return ToyGraph(
        x=x,
        h=h,
        f=f,
        error=error,
        m=float(readout @ h),
        x_to_h=(W1 * x[None, :]) * (alive * readout)[:, None],
        h_to_f=(sae.W_enc * h[None, :]) * (on * per_f)[:, None],
        b_enc_to_f=sae.b_enc * on * per_f,
        f_to_m=f * per_f,
        error_to_m=float(readout @ error),
        bias_to_m=float(readout @ sae.b_dec),
    )


# ---------------------------------------------------------------------------------------------
# The language model: attribution patching over SAE features at resid_1 and resid_2.

_PAIRS = [*(pair for pairs in NOUNS.values() for pair in pairs), *MAIN_VERBS, BE, *TRANSITIVE]
OTHER_FORM = {a: b for pair in _PAIRS for a, b in (pair, pair[::-1])}


def flip_number(data: Corpus) -> np.ndarray:
    """Token ids (n, CONTEXT) of the same sentences with the subject's number flipped: the
    subject noun and every verb that agrees with it change form, nothing moves."""
    tokens = data.tokens.copy()

    def flip(rows: np.ndarray, positions: np.ndarray) -> None:
        tokens[rows, positions] = [ID[OTHER_FORM[VOCAB[t]]] for t in data.tokens[rows, positions]]

    every = np.arange(len(tokens))
    flip(every, np.full(len(every), 2))  # the subject noun
    flip(every, data.verb_at)  # the main verb
    relative = np.flatnonzero(data.construction == CONSTRUCTIONS.index("subj_rel"))
    flip(relative, np.full(len(relative), 4))  # "that sees" agrees with the subject
    return tokens


Splice = dict[str, tuple[SAE, Activations]]  # site -> its SAE and normalisation


def run_spliced(
    model: TinyLM,
    tokens: np.ndarray,
    splice: Splice,
    nodes: dict[str, dict[str, torch.Tensor]] | None = None,
    replace: Callable[[str, torch.Tensor, torch.Tensor], tuple] | None = None,
) -> torch.Tensor:
    """Logits with each site's activation rebuilt as decode(f) + error (exact). The features
    and errors are stored in nodes[site] = {"f": ..., "error": ...} (batch, position, ...), and
    replace(site, f, error), when given, may return new ones to use instead."""
    codecs = {site: torch_codec(*splice[site]) for site in splice}

    def edit_for(site: str):
        encode, decode = codecs[site]

        def edit(x: torch.Tensor) -> torch.Tensor:
            f, error = encode(x)
            if replace is not None:
                f, error = replace(site, f, error)
            if nodes is not None:
                nodes[site] = {"f": f, "error": error}
            return decode(f, error, x)

        return edit

    return model(torch.from_numpy(tokens), {site: edit_for(site) for site in splice})


@dataclass
class Attribution:
    """Node attributions (a_clean - a_corrupt) * dm/da, averaged over the pairs: features
    [site] (positions, latents) and errors [site] (positions,); m_clean, m_corrupt: the metric
    on the clean and the corrupted sentences."""

    features: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    m_clean: float
    m_corrupt: float


def metric(logits: torch.Tensor, data: Corpus) -> torch.Tensor:
    """How much the model prefers the clean sentences' verb number, averaged over the pairs."""
    return verb_logit_difference(logits, data).mean()


Nodes = dict[str, dict[str, torch.Tensor]]  # site -> {"f": features, "error": error term}


def twin_runs(model: TinyLM, data: Corpus, splice: Splice) -> tuple[float, float, Nodes, Nodes]:
    """(m_clean, m_corrupt, clean nodes, corrupt nodes): the clean sentences and their
    number-flipped twins run once each, without gradients."""
    clean: Nodes = {}
    corrupt: Nodes = {}
    with torch.no_grad():
        m_clean = metric(run_spliced(model, data.tokens, splice, clean), data).item()
        m_corrupt = metric(run_spliced(model, flip_number(data), splice, corrupt), data).item()
    return m_clean, m_corrupt, clean, corrupt


def attribute(model: TinyLM, data: Corpus, splice: Splice, steps: int = 1) -> Attribution:
    """Attribution between data (clean) and its number-flipped twin (corrupt): for each node,
    (a_clean - a_corrupt) times dm/da averaged at `steps` points a = corrupt + α (clean -
    corrupt), α = 1/steps, 2/steps, ..., 1, one site at a time. steps=1 is attribution patching
    (the gradient at the clean run); more steps are integrated gradients. Each site's features
    and error are leaves for the gradient: what a later site's error owes to an earlier feature
    is not followed (the usual simplification)."""
    m_clean, m_corrupt, clean, corrupt = twin_runs(model, data, splice)
    features, errors = {}, {}
    for target in splice:
        delta_f = clean[target]["f"] - corrupt[target]["f"]
        delta_e = clean[target]["error"] - corrupt[target]["error"]
        grad_f, grad_e = torch.zeros_like(delta_f), torch.zeros_like(delta_e)
        for step in range(1, steps + 1):
            alpha = step / steps
            leaf: dict[str, torch.Tensor] = {}

            def replace(site, f, error, target=target, at=(alpha, delta_f, delta_e), leaf=leaf):
                if site == target:
                    alpha, delta_f, delta_e = at
                    f = (corrupt[site]["f"] + alpha * delta_f).requires_grad_()
                    error = (corrupt[site]["error"] + alpha * delta_e).requires_grad_()
                    leaf["f"], leaf["error"] = f, error
                    return f, error
                return f, error.detach()  # a later site: only its features carry the gradient

            metric(run_spliced(model, data.tokens, splice, replace=replace), data).backward()
            grad_f += leaf["f"].grad / steps
            grad_e += leaf["error"].grad / steps
        # the metric is a mean over pairs, so its gradient already carries the 1/n: sum
        features[target] = (delta_f * grad_f).sum(0).numpy()
        errors[target] = (delta_e * grad_e).sum((0, -1)).numpy()
    return Attribution(features, errors, m_clean, m_corrupt)


def patching_effects(model: TinyLM, data: Corpus, splice: Splice, nodes: list) -> np.ndarray:
    """The real effect of each node (activation patching): m on the clean sentences minus m with
    that one node set to its value in the corrupt twin, everything after it computed as usual.
    One number per node, the same sign convention as attribute's."""
    m_clean, _, _, corrupt = twin_runs(model, data, splice)
    effects = []
    for node_site, position, latent in nodes:

        def replace(site: str, f: torch.Tensor, error: torch.Tensor, node=(node_site, position,
                    latent)):  # fmt: skip
            if site != node[0]:
                return f, error
            f, error = f.clone(), error.clone()
            if node[2] is None:
                error[:, node[1]] = corrupt[site]["error"][:, node[1]]
            else:
                f[:, node[1], node[2]] = corrupt[site]["f"][:, node[1], node[2]]
            return f, error

        with torch.no_grad():
            patched = metric(run_spliced(model, data.tokens, splice, replace=replace), data)
        effects.append(m_clean - patched.item())
    return np.array(effects)


Node = tuple[str, int, int | None]  # (site, position, latent); latent None: that site's error


def top_nodes(attribution: Attribution, n: int) -> list[Node]:
    """The n nodes (features and errors) with the largest |attribution|, largest first."""
    scored = [
        (abs(value), (site, int(p), int(i)))
        for site, table in attribution.features.items()
        for (p, i), value in np.ndenumerate(table)
    ]
    scored += [
        (abs(value), (site, int(p), None))
        for site, row in attribution.errors.items()
        for p, value in enumerate(row)
    ]
    scored.sort(key=lambda item: -item[0])
    return [node for _, node in scored[:n]]


def edges(model: TinyLM, data: Corpus, splice: Splice, downstream: list[Node]) -> dict:
    """Attribution of each edge from a resid_1 feature to each downstream resid_2 feature:
    (u_clean - u_corrupt) * d(down)/du * dm/d(down), summed over the pairs.
    Returns {down: (positions, latents) array of upstream edge weights}."""
    corrupt: dict[str, dict[str, torch.Tensor]] = {}
    with torch.no_grad():
        run_spliced(model, flip_number(data), splice, corrupt)
    leaves: dict[str, torch.Tensor] = {}

    def keep(site: str, f: torch.Tensor, error: torch.Tensor):
        if site == "resid_1":
            f = f.detach().requires_grad_()
        else:
            f.retain_grad()
        leaves[site] = f
        return f, error.detach()

    m = metric(run_spliced(model, data.tokens, splice, replace=keep), data)
    m.backward(retain_graph=True)
    dm_down = leaves["resid_2"].grad.detach().clone()
    delta_up = leaves["resid_1"].detach() - corrupt["resid_1"]["f"]
    result = {}
    for node in downstream:
        _, position, latent = node
        leaves["resid_1"].grad = None
        term = leaves["resid_2"][:, position, latent] * dm_down[:, position, latent]
        term.sum().backward(retain_graph=True)
        result[node] = (delta_up * leaves["resid_1"].grad).sum(0).numpy()
    return result


def faithfulness(model: TinyLM, data: Corpus, splice: Splice, circuit: list[Node]) -> float:
    """(m(circuit) - m(nothing)) / (m(model) - m(nothing)): keep the circuit's nodes, replace
    every other feature and error by its mean over the clean and corrupted sentences (per
    position); "nothing" replaces them all. 1: the circuit does all the work."""
    m_model, _, *runs = twin_runs(model, data, splice)
    means = {
        site: {key: torch.cat([r[site][key] for r in runs]).mean(0) for key in ("f", "error")}
        for site in splice
    }

    def m_keeping(kept: list[Node]) -> float:
        def replace(site: str, f: torch.Tensor, error: torch.Tensor):
            keep_f = torch.zeros(f.shape[1:], dtype=torch.bool)
            keep_e = torch.zeros(f.shape[1], dtype=torch.bool)
            for s, position, latent in kept:
                if s == site and latent is None:
                    keep_e[position] = True
                elif s == site:
                    keep_f[position, latent] = True
            f = torch.where(keep_f, f, means[site]["f"])
            error = torch.where(keep_e[:, None], error, means[site]["error"])
            return f, error

        with torch.no_grad():
            return metric(run_spliced(model, data.tokens, splice, replace=replace), data).item()

    m_nothing = m_keeping([])
    return (m_keeping(circuit) - m_nothing) / (m_model - m_nothing)
