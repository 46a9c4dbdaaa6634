"""Every usual mistake, made on purpose, is named: over 50 problems of each kind.

Each mistaken answer is built here from the problem's own matrices with plain numpy (a forward
and backward pass written out again below), never with the checker's tables or helpers. For
every seed the check must not call it correct and must name it (by its key; where two listed
mistakes give the same matrix on a seed, either name is right). A seed where the mistake gives
the right answer teaches nothing and is skipped; each test says how many were, and fails if
fewer than half the seeds were left to test.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

import handcalc as hc

SEEDS = range(50)
relu = lambda x: np.maximum(x, 0.0)  # noqa: E731


@cache
def ae(seed: int) -> tuple[hc.AutoencoderProblem, dict]:
    """The problem and every value of its trace, computed here without handcalc."""
    p = hc.autoencoder_problem(seed)
    X = p.X.astype(float)
    v: dict = {"X": X, "lr": p.lr, "n": len(p.layers)}
    A, n = X, len(p.layers)
    for k, (W, b) in enumerate(p.layers, start=1):
        v[f"W{k}"], v[f"b{k}"] = W.astype(float), b.astype(float)
        Z = v[f"W{k}"] @ A + v[f"b{k}"][:, None]
        if k < n:
            v[f"Z{k}"], v[f"H{k}"] = Z, relu(Z)
            A = relu(Z)
        else:
            v["X_hat"] = Z
    v["dX_hat"] = G = 2 * (v["X_hat"] - X)
    for k in range(n, 0, -1):
        below = X if k == 1 else v[f"H{k - 1}"]
        v[f"G{k}"] = G  # the gradient arriving at layer k's output (dX' or dZk)
        v[f"dW{k}"], v[f"db{k}"] = G @ below.T, G.sum(axis=1)
        if k > 1:
            v[f"dH{k - 1}"] = v[f"W{k}"].T @ G
            G = v[f"dZ{k - 1}"] = np.where(v[f"Z{k - 1}"] > 0, v[f"dH{k - 1}"], 0.0)
    return p, v


@cache
def sae(seed: int) -> tuple[hc.SAEProblem, dict]:
    p = hc.sae_problem(seed)
    X, We, be, Wd, bd = (np.asarray(m, float) for m in (p.X, p.W_enc, p.b_enc, p.W_dec, p.b_dec))
    v: dict = {"X": X, "W_enc": We, "b_enc": be, "W_dec": Wd, "b_dec": bd, "lam": p.lam}
    v["lr"] = p.lr
    v["Z"] = Z = We @ X + be[:, None]
    v["F"] = F = relu(Z)
    v["X_hat"] = Wd @ F + bd[:, None]
    v["norms"] = norms = np.sqrt((Wd**2).sum(axis=0))
    v["enc_norms"] = np.sqrt((We**2).sum(axis=1))
    v["sign"] = (F > 0).astype(float)
    v["l1_grad"] = p.lam * norms[:, None] * v["sign"]
    v["dX_hat"] = dX = 2 * (v["X_hat"] - X)
    v["l1_loss"] = p.lam * (norms * F.sum(axis=1)).sum()
    v["mse_loss"] = ((v["X_hat"] - X) ** 2).sum()
    v["dF"] = dF = Wd.T @ dX + v["l1_grad"]
    v["dZ"] = dZ = np.where(Z > 0, dF, 0.0)
    v["dW_enc"], v["db_enc"] = dZ @ X.T, dZ.sum(axis=1)
    v["dW_dec_mse"], v["db_dec"] = dX @ F.T, dX.sum(axis=1)
    v["dW_dec_l1"] = p.lam * F.sum(axis=1) / norms * Wd
    v["dW_dec"] = v["dW_dec_mse"] + v["dW_dec_l1"]
    return p, v


Build = Callable[[dict], object]


def linear_mistakes(W: str, A: str, b: str, out: str, hidden: bool) -> dict[str, Build]:
    found = {
        "linear.bias_forgotten": lambda v: v[W] @ v[A],
        "linear.bias_subtracted": lambda v: v[W] @ v[A] - v[b][:, None],
    }
    if hidden:
        found["linear.relu_early"] = lambda v: relu(v[W] @ v[A] + v[b][:, None])
        found["linear.bias_forgotten_relu_early"] = lambda v: relu(v[W] @ v[A])
    else:
        found = {key.replace("linear.", "output."): build for key, build in found.items()}
        found["output.relu_on_output"] = lambda v: relu(v[out])
    return found


def relu_mistakes(Z: str) -> dict[str, Build]:
    return {
        "relu.forgotten": lambda v: v[Z],
        "relu.kept_negatives": lambda v: np.minimum(v[Z], 0),
        "relu.absolute": lambda v: np.abs(v[Z]),
    }


def loss_mistakes() -> dict[str, Build]:
    return {
        "sum_squares.mean": lambda v: ((v["X_hat"] - v["X"]) ** 2).mean(),
        "sum_squares.square_of_sum": lambda v: (v["X_hat"] - v["X"]).sum() ** 2,
        "sum_squares.not_squared": lambda v: (v["X_hat"] - v["X"]).sum(),
        "sum_squares.absolute": lambda v: np.abs(v["X_hat"] - v["X"]).sum(),
        "sum_squares.halved": lambda v: ((v["X_hat"] - v["X"]) ** 2).sum() / 2,
    }


def loss_grad_mistakes() -> dict[str, Build]:
    return {
        "mse_grad.factor_two": lambda v: v["X_hat"] - v["X"],
        "mse_grad.sign": lambda v: 2 * (v["X"] - v["X_hat"]),
        "mse_grad.mean": lambda v: 2 * (v["X_hat"] - v["X"]) / v["X"].size,
        "mse_grad.squared": lambda v: (v["X_hat"] - v["X"]) ** 2,
    }


def weight_grad_mistakes(G: str, A: str) -> dict[str, Build]:
    return {
        "weight_grad.arrangement": lambda v: v[A] @ v[G].T,  # the transpose of the answer
        "weight_grad.arrangement ": lambda v: (
            v[G] @ v[A] if v[G].shape[1] == v[A].shape[0] else None
        ),  # the transpose missing (when the shapes let it happen)
        "weight_grad.mean": lambda v: v[G] @ v[A].T / v[G].shape[1],
        "weight_grad.one_sample": lambda v: np.outer(v[G][:, 0], v[A][:, 0]),
    }


def bias_grad_mistakes(G: str) -> dict[str, Build]:
    return {
        "bias_grad.not_summed": lambda v: v[G],
        "bias_grad.wrong_axis": lambda v: v[G].sum(axis=0),
        "bias_grad.mean": lambda v: v[G].mean(axis=1),
        "bias_grad.total": lambda v: v[G].sum(),
        "bias_grad.one_sample": lambda v: v[G][:, 0],
    }


def relu_backward_mistakes(dH: str, Z: str, others: list[str]) -> dict[str, Build]:
    found = {
        "relu_backward.mask_forgotten": lambda v: v[dH],
        "relu_backward.relu_of_gradient": lambda v: relu(v[dH]),
        "relu_backward.times_activation": lambda v: v[dH] * relu(v[Z]),
        "relu_backward.times_pre_activation": lambda v: v[dH] * v[Z],
        "relu_backward.mask_inverted": lambda v: np.where(v[Z] <= 0, v[dH], 0.0),
    }
    for other in others:
        found[f"relu_backward.mask_from_other {other}"] = lambda v, o=other: (
            np.where(v[o] > 0, v[dH], 0.0) if v[o].shape == v[Z].shape else None
        )
    return found


def update_mistakes(P: str, G: str, others: list[tuple[str, str]]) -> dict[str, Build]:
    found = {
        "update.sign": lambda v: v[P] + v["lr"] * v[G],
        "update.lr_forgotten": lambda v: v[P] - v[G],
        "update.change_only": lambda v: -v["lr"] * v[G],
        "update.step_only": lambda v: v["lr"] * v[G],
        "update.swapped": lambda v: v[G] - v["lr"] * v[P],
    }
    for other_p, other_g in others:
        same = lambda v, o=other_p: v[o].shape == v[P].shape  # noqa: E731
        found[f"update.other_gradient {other_g}"] = lambda v, o=other_g, s=same: (
            v[P] - v["lr"] * v[o] if s(v) else None
        )
        found[f"update.other_parameter {other_p}"] = lambda v, o=other_p, s=same: (
            v[o] - v["lr"] * v[G] if s(v) else None
        )
    return found


def ae_cases() -> list[tuple[str, dict[str, Build]]]:
    n = 4  # 4 -> 3 -> 2 -> 3 -> 4
    cases = []
    for k in range(1, n + 1):
        A = "X" if k == 1 else f"H{k - 1}"
        out = f"Z{k}" if k < n else "X_hat"
        cases.append((out, linear_mistakes(f"W{k}", A, f"b{k}", out, hidden=k < n)))
        if k < n:
            relus = relu_mistakes(f"Z{k}")
            relus[f"linear.bias_forgotten@Z{k}"] = lambda v, k=k, A=A: relu(v[f"W{k}"] @ v[A])
            relus[f"relu.forgotten+linear.bias_forgotten@Z{k}"] = lambda v, k=k, A=A: (
                v[f"W{k}"] @ v[A]
            )
            cases.append((f"H{k}", relus))
    cases += [("loss", loss_mistakes()), ("dX_hat", loss_grad_mistakes())]
    pre = {f"Z{k}" for k in range(1, n)}
    for k in range(n, 0, -1):
        G, A = f"G{k}", "X" if k == 1 else f"H{k - 1}"
        weights = weight_grad_mistakes(G, A)
        if k < n:
            weights[f"relu_backward.mask_forgotten@dZ{k}"] = lambda v, k=k, A=A: (
                v[f"dH{k}"] @ v[A].T
            )
        if k > 1:
            weights[f"relu.forgotten@H{k - 1}"] = lambda v, k=k, G=G: v[G] @ v[f"Z{k - 1}"].T
        cases += [(f"dW{k}", weights), (f"db{k}", bias_grad_mistakes(G))]
        if k > 1:
            inputs = {
                "input_grad.arrangement": lambda v, k=k, G=G: v[G].T @ v[f"W{k}"],
                "input_grad.arrangement ": lambda v, k=k, G=G: (
                    v[f"W{k}"] @ v[G] if v[f"W{k}"].shape[1] == v[G].shape[0] else None
                ),
            }
            if k < n:
                inputs[f"relu_backward.mask_forgotten@dZ{k}"] = lambda v, k=k: (
                    v[f"W{k}"].T @ v[f"dH{k}"]
                )
            else:
                inputs["mse_grad.factor_two@dX_hat"] = lambda v, k=k: (
                    v[f"W{k}"].T @ (v["X_hat"] - v["X"])
                )
            cases.append((f"dH{k - 1}", inputs))
            others = sorted(pre - {f"Z{k - 1}"})
            cases.append((f"dZ{k - 1}", relu_backward_mistakes(f"dH{k - 1}", f"Z{k - 1}", others)))
    for k in range(1, n + 1):
        for p in (f"W{k}", f"b{k}"):
            others = [(f"{p[0]}{j}", f"d{p[0]}{j}") for j in range(1, n + 1) if j != k]
            cases.append((f"{p}_new", update_mistakes(p, f"d{p}", others)))
    return cases


def sae_cases() -> list[tuple[str, dict[str, Build]]]:
    lam = lambda v: v["lam"]  # noqa: E731
    x_hat = linear_mistakes("W_dec", "F", "b_dec", "X_hat", hidden=False)
    x_hat["relu.forgotten@F"] = lambda v: v["W_dec"] @ v["Z"] + v["b_dec"][:, None]
    sign_zeros = {
        "sign.direction": lambda v: -v["sign"],
        "sign.zeros": lambda v: np.ones_like(v["F"]),
    }
    return [
        ("Z", linear_mistakes("W_enc", "X", "b_enc", "Z", hidden=True)),
        ("F", relu_mistakes("Z")),
        ("X_hat", x_hat),
        (
            "norms",
            {
                "norms.rows": lambda v: np.sqrt((v["W_dec"] ** 2).sum(axis=1)),
                "norms.l1_length": lambda v: np.abs(v["W_dec"]).sum(axis=0),
                "norms.no_root": lambda v: (v["W_dec"] ** 2).sum(axis=0),
                "norms.encoder": lambda v: v["enc_norms"],
            },
        ),
        (
            "l1_loss",
            {
                "l1_loss.no_lengths": lambda v: lam(v) * v["F"].sum(),
                "l1_loss.no_lambda": lambda v: (
                    (v["norms"] * v["F"].sum(axis=1)).sum() if lam(v) != 1 else None
                ),
                "l1_loss.weights": lambda v: lam(v) * np.abs(v["W_enc"]).sum(),
                "l1_loss.weights ": lambda v: lam(v) * np.abs(v["W_dec"]).sum(),
                "l1_loss.encoder_lengths": lambda v: (
                    lam(v) * (v["enc_norms"] * v["F"].sum(axis=1)).sum()
                ),
                "l1_loss.on_z": lambda v: lam(v) * (v["norms"] * np.abs(v["Z"]).sum(axis=1)).sum(),
                "l1_loss.squared_lengths": lambda v: (
                    lam(v) * (v["norms"] ** 2 * v["F"].sum(axis=1)).sum()
                ),
            },
        ),
        ("l1_grad_pos", {**sign_zeros, "sign.values": lambda v: v["F"]}),
        ("l1_grad_zeros", sign_zeros),
        (
            "l1_grad",
            {
                "l1_grad.direction": lambda v: -v["l1_grad"],
                "l1_grad.zeros": lambda v: lam(v) * v["norms"][:, None] * np.ones_like(v["F"]),
                "l1_grad.unweighted": lambda v: v["sign"],
                "l1_grad.no_lambda": lambda v: (
                    v["norms"][:, None] * v["sign"] if lam(v) != 1 else None
                ),
                "l1_grad.times_activation": lambda v: lam(v) * v["norms"][:, None] * v["F"],
                "l1_grad.encoder_lengths": lambda v: lam(v) * v["enc_norms"][:, None] * v["sign"],
            },
        ),
        ("mse_loss", loss_mistakes()),
        ("dX_hat", loss_grad_mistakes()),
        (
            "loss",
            {
                "total.only_first": lambda v: v["mse_loss"],
                "total.only_second": lambda v: v["l1_loss"],
                "total.difference": lambda v: v["mse_loss"] - v["l1_loss"],
            },
        ),
        (
            "dF",
            {
                "dF.no_sparsity": lambda v: v["W_dec"].T @ v["dX_hat"],
                "dF.only_sparsity": lambda v: v["l1_grad"],
                "dF.sparsity_subtracted": lambda v: v["W_dec"].T @ v["dX_hat"] - v["l1_grad"],
                "dF.masked_early": lambda v: np.where(v["Z"] > 0, v["dF"], 0.0),
                "dF.unweighted_sparsity": lambda v: v["W_dec"].T @ v["dX_hat"] + v["sign"],
            },
        ),
        ("dZ", relu_backward_mistakes("dF", "Z", [])),
        (
            "dW_enc",
            {
                **weight_grad_mistakes("dZ", "X"),
                "relu_backward.mask_forgotten@dZ": lambda v: v["dF"] @ v["X"].T,
                "dF.no_sparsity@dF@dZ": lambda v: (
                    np.where(v["Z"] > 0, v["W_dec"].T @ v["dX_hat"], 0) @ v["X"].T
                ),
            },
        ),
        ("db_enc", bias_grad_mistakes("dZ")),
        (
            "dW_dec_mse",
            {
                **weight_grad_mistakes("dX_hat", "F"),
                "relu.forgotten@F": lambda v: v["dX_hat"] @ v["Z"].T,
            },
        ),
        (
            "dW_dec_l1",
            {
                "decoder_penalty_grad.not_divided": lambda v: (
                    lam(v) * v["F"].sum(axis=1) * v["W_dec"]
                ),
                "decoder_penalty_grad.times_length": lambda v: (
                    lam(v) * v["F"].sum(axis=1) * v["norms"] * v["W_dec"]
                ),
                "decoder_penalty_grad.divided_twice": lambda v: (
                    lam(v) * v["F"].sum(axis=1) / v["norms"] ** 2 * v["W_dec"]
                ),
                "decoder_penalty_grad.count": lambda v: (
                    lam(v) * (v["F"] > 0).sum(axis=1) / v["norms"] * v["W_dec"]
                ),
                "decoder_penalty_grad.no_activations": lambda v: lam(v) / v["norms"] * v["W_dec"],
                "decoder_penalty_grad.no_lambda": lambda v: (
                    v["F"].sum(axis=1) / v["norms"] * v["W_dec"] if lam(v) != 1 else None
                ),
            },
        ),
        (
            "dW_dec",
            {
                "sum_parts.only_first": lambda v: v["dW_dec_mse"],
                "sum_parts.only_second": lambda v: v["dW_dec_l1"],
                "sum_parts.difference": lambda v: v["dW_dec_mse"] - v["dW_dec_l1"],
            },
        ),
        ("db_dec", bias_grad_mistakes("dX_hat")),
        (
            "W_dec_new",
            {
                **update_mistakes("W_dec", "dW_dec", [("W_enc", "dW_enc")]),
                "sum_parts.only_first@dW_dec": lambda v: v["W_dec"] - v["lr"] * v["dW_dec_mse"],
                "sum_parts.only_second@dW_dec": lambda v: v["W_dec"] - v["lr"] * v["dW_dec_l1"],
            },
        ),
        (
            "W_enc_new",
            {
                **update_mistakes("W_enc", "dW_enc", [("W_dec", "dW_dec")]),
                "relu_backward.mask_forgotten@dZ@dW_enc": lambda v: (
                    v["W_enc"] - v["lr"] * v["dF"] @ v["X"].T
                ),
            },
        ),
        ("b_enc_new", update_mistakes("b_enc", "db_enc", [("b_dec", "db_dec")])),
    ]


@cache
def trace(which: str, seed: int) -> hc.Trace:
    problem = (ae if which == "ae" else sae)(seed)[0]
    return hc.autoencoder_trace(problem) if which == "ae" else hc.sae_trace(problem)


def _name(key: str) -> str:
    """A test's key without the note after a space (which other matrix, a second arrangement)."""
    return key.split(" ")[0]


TABLES = {("ae", step): table for step, table in ae_cases()} | {
    ("sae", step): table for step, table in sae_cases()
}


def can_happen(which: str, step: str, key: str) -> bool:
    """A mistake the shapes of this kind of problem allow (on one of the first ten seeds)."""
    values = [(ae if which == "ae" else sae)(seed)[1] for seed in range(10)]
    return any(TABLES[(which, step)][key](v) is not None for v in values)


CASES = [(w, step, key) for (w, step), table in TABLES.items() for key in table]
CASES = [case for case in CASES if can_happen(*case)]


@pytest.mark.parametrize(("which", "step", "key"), CASES, ids=lambda x: str(x).strip())
def test_each_mistake_is_named(which: str, step: str, key: str, record_property) -> None:
    table, skipped, tested = TABLES[(which, step)], 0, 0
    for seed in SEEDS:
        values = (ae if which == "ae" else sae)(seed)[1]
        right = np.asarray(trace(which, seed)[step], dtype=float)
        mistaken = table[key](values)
        if mistaken is None or (np.shape(mistaken) == right.shape and np.allclose(mistaken, right)):
            skipped += 1  # the mistake cannot happen here, or gives the right answer
            continue
        mistaken = np.asarray(mistaken, dtype=float)
        same = {  # listed mistakes that give this very matrix on this seed
            _name(other)
            for other, build in table.items()
            if (m := build(values)) is not None
            and np.shape(m) == mistaken.shape
            and np.allclose(m, mistaken)
        }
        feedback = hc.check(step, mistaken, trace(which, seed))
        assert not feedback, f"seed {seed}: {key} was called correct"
        assert feedback.mistake in same, (
            f"seed {seed}, {step}: {key} was diagnosed as {feedback.mistake}: {feedback.message}"
        )
        tested += 1
    record_property("seeds_skipped", skipped)
    print(f"{which} {step} {key}: {tested} seeds tested, {skipped} skipped")
    # λ is 2 in about a third of the generated problems, 1 in the rest
    least = len(SEEDS) // 5 if "no_lambda" in key else len(SEEDS) // 2
    assert tested >= least, f"only {tested} of {len(SEEDS)} seeds could test {key}"


@pytest.mark.parametrize("which", ["ae", "sae"])
def test_every_step_kind_recomputes_its_step(which: str) -> None:
    """The mistake tables and worked entries read a step through its kind: the kind, given the
    step's inputs, must give exactly the step's output."""
    from handcalc.kinds import compute

    for seed in range(30):
        t = trace(which, seed)
        for step in t:
            assert np.allclose(compute(t, step.name), step.output, rtol=0, atol=1e-12), step.name
