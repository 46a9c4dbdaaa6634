"""The course's language model: a two-layer transformer trained on handcalc.grammar (torch).

Small enough to train on a laptop CPU in under a minute, and to ship its weights in the repo
(handcalc/data/tiny_lm.pt), so the lessons never train or download it at run time.

Named activations (each (batch, position, width)), readable with `run_with_cache` and editable
with `forward(tokens, edits={name: function})`:
    resid_0  the embeddings (token + position)        resid_1  after block 1
    mlp_1    block 1's MLP hidden layer (after GELU)  resid_2  after block 2 (before the last LN)
    mlp_2    block 2's MLP hidden layer
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .grammar import CONSTRUCTIONS, CONTEXT, ID, PLURAL_VERBS, SINGULAR_VERBS, VOCAB, Corpus

WEIGHTS = Path(__file__).parent / "data" / "tiny_lm.pt"
Edit = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Config:
    vocab: int = len(VOCAB)
    context: int = CONTEXT
    d_model: int = 64
    heads: int = 4
    d_mlp: int = 256
    layers: int = 2


class Block(nn.Module):
    """Pre-norm attention then MLP, each added to the residual stream."""

    def __init__(self, c: Config) -> None:
        super().__init__()
        self.heads = c.heads
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.out = nn.Linear(c.d_model, c.d_model)
        self.up, self.down = nn.Linear(c.d_model, c.d_mlp), nn.Linear(c.d_mlp, c.d_model)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=-1)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(mixed.transpose(1, 2).reshape(batch, length, width))


class TinyLM(nn.Module):
    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        c = self.config = config or Config()
        self.embed = nn.Embedding(c.vocab, c.d_model)
        self.position = nn.Embedding(c.context, c.d_model)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.ln_final = nn.LayerNorm(c.d_model)
        self.unembed = nn.Linear(c.d_model, c.vocab, bias=False)

    def forward(
        self,
        tokens: torch.Tensor,
        edits: dict[str, Edit] | None = None,
        cache: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits (batch, position, vocab) for token ids (batch, position). edits[name] replaces
        that activation by a function of it; cache, when given, is filled with every one."""
        edits = edits or {}

        def at(name: str, x: torch.Tensor) -> torch.Tensor:
            if name in edits:
                x = edits[name](x)
            if cache is not None:
                cache[name] = x
            return x

        positions = torch.arange(tokens.shape[1])
        x = at("resid_0", self.embed(tokens) + self.position(positions))
        for layer, block in enumerate(self.blocks, start=1):
            x = x + block.attention(block.ln1(x))
            hidden = at(f"mlp_{layer}", F.gelu(block.up(block.ln2(x))))
            x = at(f"resid_{layer}", x + block.down(hidden))
        return self.unembed(self.ln_final(x))

    def run_with_cache(self, tokens: torch.Tensor, edits: dict[str, Edit] | None = None):
        cache: dict[str, torch.Tensor] = {}
        return self(tokens, edits, cache), cache


def loss_fn(
    model: TinyLM, tokens: torch.Tensor, edits: dict[str, Edit] | None = None
) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions whose next token is not padding."""
    logits = model(tokens[:, :-1], edits)
    targets = tokens[:, 1:]
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ID["<pad>"]
    )


def prediction_spread(
    model: TinyLM, tokens: torch.Tensor, edits: dict[str, Edit] | None = None
) -> tuple[float, float]:
    """(mean entropy of the next-token distribution in nats, mean probability of its likeliest
    token), over the positions whose next token is not padding: how flat or how sure the model's
    predictions are."""
    logits = model(tokens[:, :-1], edits)
    keep = tokens[:, 1:] != ID["<pad>"]
    p = torch.softmax(logits, dim=-1)
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(dim=-1)
    return entropy[keep].mean().item(), p.max(dim=-1).values[keep].mean().item()


def train_lm(
    data: Corpus, steps: int = 1500, batch_size: int = 128, lr: float = 3e-3, seed: int = 0
) -> tuple[TinyLM, list[float]]:
    """Train a fresh TinyLM on the corpus (AdamW, cosine-decayed learning rate)."""
    torch.manual_seed(seed)
    model = TinyLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    rng = np.random.default_rng(seed)
    tokens = torch.from_numpy(data.tokens)
    losses = []
    for _ in range(steps):
        batch = tokens[rng.integers(len(tokens), size=batch_size)]
        loss = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return model.eval(), losses


def load(path: Path = WEIGHTS) -> TinyLM:
    """The trained model shipped with the course, in float64: its weights are float32, but every
    computer then computes the same activations to far below what a lesson prints (in float32,
    another CPU's kernels change the last bits, and a TopK SAE can turn that into another choice
    of latents)."""
    model = TinyLM()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.double().eval()


def verb_logit_difference(logits: torch.Tensor, data: Corpus) -> torch.Tensor:
    """Per sentence, at the position that predicts the main verb: log-sum-exp of the logits of
    the correct number's verb forms minus that of the wrong number's. Positive means right."""
    rows = torch.arange(len(data.tokens))
    at = logits[rows, torch.from_numpy(data.verb_at) - 1]
    singular = torch.logsumexp(at[:, SINGULAR_VERBS], dim=-1)
    plural = torch.logsumexp(at[:, PLURAL_VERBS], dim=-1)
    sign = torch.from_numpy(np.where(data.plural, 1.0, -1.0)).to(at.dtype)
    return sign * (plural - singular)


def agreement(model: TinyLM, data: Corpus, edits: dict[str, Edit] | None = None) -> dict:
    """The share of sentences whose main verb the model puts in the right number, overall and by
    construction, and for pp/relative sentences whose other noun has the other number."""
    with torch.no_grad():
        right = verb_logit_difference(model(torch.from_numpy(data.tokens), edits), data) > 0
    right = right.numpy()
    result = {"all": float(right.mean())}
    for i, name in enumerate(CONSTRUCTIONS):
        result[name] = float(right[data.construction == i].mean())
    result["other noun of the other number"] = float(right[data.mismatch].mean())
    return result


def main(argv: list[str] | None = None) -> None:
    """Retrain from the seed and compare with the shipped model: python -m handcalc.lm [--save]"""
    import argparse

    from .grammar import corpus

    parser = argparse.ArgumentParser(prog="python -m handcalc.lm", description=main.__doc__)
    parser.add_argument("--save", action="store_true", help=f"overwrite {WEIGHTS.name}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    model, losses = train_lm(corpus(20000, seed=0))
    seconds = time.perf_counter() - start
    print(
        f"retrained in {seconds:.1f} s; mean loss of the last 50 steps {np.mean(losses[-50:]):.4f}"
    )
    held_out = corpus(4000, seed=1)
    models = {"retrained": model}
    if WEIGHTS.exists():
        models["shipped"] = load()
    print(f"{'agreement on 4000 new sentences':34}" + "".join(f"{m:>11}" for m in models))
    results = {name: agreement(m, held_out) for name, m in models.items()}
    for key in results["retrained"]:
        print(f"{key:34}" + "".join(f"{results[m][key]:11.4f}" for m in models))
    if "shipped" in models:
        tokens = torch.from_numpy(held_out.tokens)
        with torch.no_grad():
            shipped, retrained = loss_fn(models["shipped"], tokens), loss_fn(model, tokens)
        print(f"{'held-out loss':34}{retrained.item():11.4f}{shipped.item():11.4f}")
    if args.save:
        WEIGHTS.parent.mkdir(exist_ok=True)
        torch.save(model.state_dict(), WEIGHTS)
        print(f"saved {WEIGHTS}")


if __name__ == "__main__":
    main()
