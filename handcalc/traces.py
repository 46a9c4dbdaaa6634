"""The two worked pipelines as traces: ordered, named steps that notebooks, widgets and worksheets
all render from.

`trace[name]` is a step's output (or a given matrix such as "X" or "W1"); `trace.names` lists the
steps in order; `trace.step(name)` has the step's title, formula and inputs; `print(trace)` shows
the whole sheet as text and a notebook shows it as matrix grids.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .backward import l1_decoder_grad, linear_backward, relu_backward, sgd_step
from .display import dims, label, matrix_html, matrix_text, number
from .problems import AutoencoderProblem, SAEProblem
from .steps import decoder_norms, l1_grad, l1_loss, linear, mse, mse_grad, relu

Value = np.ndarray | float

# What the rows and columns of each matrix are, as the grids and messages name them.
DATA, HIDDEN, WEIGHT = ("feature", "sample"), ("unit", "sample"), ("output", "input")
TOKENS, FEATURES = ("dim", "token"), ("feature", "token")
ENCODER, DECODER = ("feature", "dim"), ("dim", "feature")


@dataclass(frozen=True)
class Step:
    """One step of a sheet: what it computes (formula) from which named inputs, and its output.

    mask, when set, marks the only entries known after this step (the sheet fills some steps in
    two goes); the output is always the whole matrix.
    product, for a matrix product, names its operands as written by hand: (left, top) or
    (left, top, bias), "ᵀ" marking a transpose; a worksheet puts left beside the result, top
    above it, and a bias as an extra column of left (the bias trick).
    kind says what the step computes from its inputs (kinds.KINDS: "linear", "relu_backward",
    ...), the inputs being read in the order of the kind's roles.
    axes says what the output's rows and columns are ("unit", "sample"); () for a number.
    """

    name: str
    title: str
    formula: str
    inputs: tuple[str, ...]
    output: Value
    mask: np.ndarray | None = None
    product: tuple[str, ...] = ()
    kind: str = ""
    axes: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The step as the sheet writes it: title, formula, the output's grid."""
        body = matrix_text(self.output, self.mask, indent="    ")
        return f"{self.title}  -> {label(self.name)}{dims(self.output)}\n    {self.formula}\n{body}"


class Trace:
    """Given matrices plus an ordered list of steps, looked up by name."""

    def __init__(
        self,
        title: str,
        given: dict[str, Value],
        steps: list[Step],
        axes: dict[str, tuple[str, ...]] | None = None,
        seed: int | None = None,
    ) -> None:
        """axes: what the rows and columns of each given matrix are (steps carry their own).
        seed: the seed of the generated problem this trace works, if it has one."""
        self.title = title
        self.given = dict(given)
        self._steps = {step.name: step for step in steps}
        self._axes = dict(axes or {})
        self.seed = seed

    def axes(self, name: str) -> tuple[str, ...]:
        """What the rows and columns of a value are, e.g. ("unit", "sample"); () for a number."""
        if name in self._steps:
            return self._steps[name].axes
        return self._axes.get(name, ())

    @property
    def names(self) -> list[str]:
        return list(self._steps)

    def step(self, name: str) -> Step:
        if name not in self._steps:
            raise KeyError(self._unknown(name))
        return self._steps[name]

    def __getitem__(self, name: str) -> Value:
        if name in self._steps:
            return self._steps[name].output
        if name in self.given:
            return self.given[name]
        raise KeyError(self._unknown(name))

    def _unknown(self, name: str) -> str:
        return (
            f"this trace has no step or given value named {name!r}; "
            f"given: {', '.join(self.given)}; steps: {', '.join(self.names)}"
        )

    def __contains__(self, name: object) -> bool:
        return name in self._steps or name in self.given

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps.values())

    def __len__(self) -> int:
        return len(self._steps)

    def __str__(self) -> str:
        lines = [self.title, "=" * len(self.title), "Given:"]
        for name, value in self.given.items():
            if np.ndim(value) == 0:
                lines.append(f"  {name} = {number(value)}")
            else:
                lines.append(f"  {name}{dims(value)}\n{matrix_text(value, indent='    ')}")
        lines.append("")
        lines.extend(f"{step}\n" for step in self)
        return "\n".join(lines).rstrip() + "\n"

    def __repr__(self) -> str:
        return f"<Trace {self.title!r}: {len(self)} steps, print() it to see the sheet>"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's plain-text display
        printer.text(str(self))

    def _repr_html_(self) -> str:
        given = "".join(matrix_html(name, value) for name, value in self.given.items())
        steps = "".join(self.step_html(name) for name in self.names)
        title = html.escape(self.title)
        return f"<div><h4>{title}</h4><div><b>Given</b><br>{given}</div>{steps}</div>"

    def operands_html(self, name: str) -> str:
        """Step `name`'s inputs as grids, each as it enters the step: transposed where the
        formula writes ᵀ (dW4 = dX' H3ᵀ shows H3ᵀ, 4 x 3)."""
        step = self.step(name)
        written = {written.rstrip("ᵀ"): written for written in step.product}
        grids = []
        for source in step.inputs:
            value = self[source]
            mask = self.step(source).mask if source in self._steps else None
            shown = label(source)
            if written.get(source, source).endswith("ᵀ"):
                shown, value, mask = shown + "ᵀ", np.asarray(value).T, None
            grids.append(matrix_html(shown, value, mask))
        return "".join(grids)

    def step_html(self, name: str) -> str:
        """Step `name` as the step viewer shows it: title, formula, inputs -> output."""
        step = self.step(name)
        output = matrix_html(label(name), step.output, step.mask)
        return (
            f"<div style='margin:10px 0'><b>{html.escape(step.title)}</b> "
            f"<code>{html.escape(step.formula)}</code><br>{self.operands_html(name)}"
            f"<span style='font-size:1.4em;vertical-align:middle'> &rarr; </span>{output}</div>"
        )


def autoencoder_trace(problem: AutoencoderProblem) -> Trace:
    """Forward pass, sum-of-squares loss, backpropagation to every parameter, one update.

    Layers k = 1..L: Z_k = W_k H_(k-1) + b_k with H_0 = X, H_k = ReLU(Z_k) for k < L, and the
    reconstruction X' = Z_L (no ReLU). Loss: sum of (X' - X)^2. Update: p - lr * dp.
    """
    X, layers, n = problem.X, problem.layers, len(problem.layers)
    given: dict[str, Value] = {"X": X}
    axes = {"X": DATA}
    for k, (W, b) in enumerate(layers, start=1):
        given[f"W{k}"], given[f"b{k}"] = W, b
        axes[f"W{k}"], axes[f"b{k}"] = WEIGHT, WEIGHT[:1]
    given["lr"] = problem.lr
    steps: list[Step] = []
    add = steps.append

    values = {"X": X}  # every forward value the backward pass needs, by name
    previous = "X"
    for k, (W, b) in enumerate(layers, start=1):
        Z = linear(W, b, values[previous])
        operands = (f"W{k}", previous, f"b{k}")
        if k < n:
            add(
                Step(
                    f"Z{k}",
                    f"Layer {k}: linear",
                    f"Z{k} = W{k} {previous} + b{k}",
                    operands,
                    Z,
                    product=operands,
                    kind="linear",
                    axes=HIDDEN,
                )
            )
            add(
                Step(
                    f"H{k}",
                    f"Layer {k}: ReLU",
                    f"H{k} = ReLU(Z{k})",
                    (f"Z{k}",),
                    relu(Z),
                    kind="relu",
                    axes=HIDDEN,
                )
            )
            previous = f"H{k}"
            values[f"Z{k}"], values[previous] = Z, relu(Z)
        else:
            add(
                Step(
                    "X_hat",
                    f"Layer {k}: linear, the reconstruction X'",
                    f"X' = W{k} {previous} + b{k}",
                    operands,
                    Z,
                    product=operands,
                    kind="output",
                    axes=DATA,
                )
            )
    X_hat = steps[-1].output
    add(
        Step(
            "loss",
            "Loss: sum of squared errors",
            "L = Σ (X' − X)²",
            ("X_hat", "X"),
            mse(X_hat, X),
            kind="sum_squares",
        )
    )
    add(
        Step(
            "dX_hat",
            "Loss gradient",
            "dX' = ∂L/∂X' = 2 (X' − X)",
            ("X_hat", "X"),
            mse_grad(X_hat, X),
            kind="mse_grad",
            axes=DATA,
        )
    )

    grad, grad_name = mse_grad(X_hat, X), "dX_hat"
    grads: dict[str, np.ndarray] = {}
    for k in range(n, 0, -1):
        W, _ = layers[k - 1]
        below = "X" if k == 1 else f"H{k - 1}"
        dW, db, d_below = linear_backward(grad, W, values[below])
        shown = "dX'" if grad_name == "dX_hat" else grad_name
        add(
            Step(
                f"dW{k}",
                f"Layer {k}: weight gradient",
                f"dW{k} = {shown} {below}ᵀ",
                (grad_name, below),
                dW,
                product=(grad_name, f"{below}ᵀ"),
                kind="weight_grad",
                axes=WEIGHT,
            )
        )
        add(
            Step(
                f"db{k}",
                f"Layer {k}: bias gradient",
                f"db{k} = {shown} summed over samples",
                (grad_name,),
                db,
                kind="bias_grad",
                axes=WEIGHT[:1],
            )
        )
        grads[f"W{k}"], grads[f"b{k}"] = dW, db
        if k > 1:
            add(
                Step(
                    f"dH{k - 1}",
                    f"Back through layer {k}",
                    f"dH{k - 1} = W{k}ᵀ {shown}",
                    (f"W{k}", grad_name),
                    d_below,
                    product=(f"W{k}ᵀ", grad_name),
                    kind="input_grad",
                    axes=HIDDEN,
                )
            )
            grad = relu_backward(d_below, values[f"Z{k - 1}"])
            grad_name = f"dZ{k - 1}"
            add(
                Step(
                    grad_name,
                    f"Back through ReLU {k - 1}",
                    f"dZ{k - 1} = dH{k - 1} where Z{k - 1} > 0, else 0",
                    (f"dH{k - 1}", f"Z{k - 1}"),
                    grad,
                    kind="relu_backward",
                    axes=HIDDEN,
                )
            )

    params = {name: given[name] for name in grads}
    new = sgd_step(params, grads, problem.lr)
    for name in sorted(new, key=lambda p: (int(p[1:]), p[0] == "b")):
        add(
            Step(
                f"{name}_new",
                f"Update {name}",
                f"new {name} = {name} − lr · d{name}  (lr = {problem.lr:g})",
                (name, f"d{name}"),
                new[name],
                kind="update",
                axes=axes[name],
            )
        )
    return Trace(f"Autoencoder {_sizes(problem)}", given, steps, axes, problem.seed)


def sae_trace(problem: SAEProblem) -> Trace:
    """The ten steps of the SAE worksheet, then every parameter gradient and one update.

    Loss: sum of (X' - X)^2 + lam * sum_i ||W_dec[:, i]|| * sum_n F[i, n] (Anthropic, April 2024).
    """
    p = problem
    given: dict[str, Value] = {
        "X": p.X,
        "W_enc": p.W_enc,
        "b_enc": p.b_enc,
        "W_dec": p.W_dec,
        "b_dec": p.b_dec,
        "lam": p.lam,
        "lr": p.lr,
    }
    axes = {
        "X": TOKENS,
        "W_enc": ENCODER,
        "b_enc": ("feature",),
        "W_dec": DECODER,
        "b_dec": ("dim",),
    }
    Z = linear(p.W_enc, p.b_enc, p.X)
    F = relu(Z)
    X_hat = linear(p.W_dec, p.b_dec, F)
    sign = l1_grad(F)
    dX_hat = mse_grad(X_hat, p.X)
    d_l1 = l1_grad(F, p.W_dec, p.lam)
    dF = p.W_dec.T @ dX_hat + d_l1
    dZ = relu_backward(dF, Z)
    dW_enc, db_enc, _ = linear_backward(dZ, p.W_enc, p.X)
    dW_dec_mse, db_dec, _ = linear_backward(dX_hat, p.W_dec, F)
    dW_dec_l1 = l1_decoder_grad(F, p.W_dec, p.lam)
    grads = {"W_enc": dW_enc, "b_enc": db_enc, "W_dec": dW_dec_mse + dW_dec_l1, "b_dec": db_dec}
    new = sgd_step({name: given[name] for name in grads}, grads, p.lr)

    steps = [
        Step(
            "Z",
            "[1] Encoder: linear",
            "Z = W_enc X + b_enc",
            ("W_enc", "X", "b_enc"),
            Z,
            product=("W_enc", "X", "b_enc"),
            kind="linear",
            axes=FEATURES,
        ),
        Step("F", "[2] Encoder: ReLU", "F = ReLU(Z)", ("Z",), F, kind="relu", axes=FEATURES),
        Step(
            "X_hat",
            "[3] Decoder: reconstruction",
            "X' = W_dec F + b_dec",
            ("W_dec", "F", "b_dec"),
            X_hat,
            product=("W_dec", "F", "b_dec"),
            kind="output",
            axes=TOKENS,
        ),
        Step(
            "norms",
            "[4] Decoder: column lengths",
            "‖d_i‖ = √(Σ_j W_dec[j, i]²), one per feature (column)",
            ("W_dec",),
            decoder_norms(p.W_dec),
            kind="norms",
            axes=("feature",),
        ),
        Step(
            "l1_loss",
            "[5] Sparsity: L1 loss",
            "L1 = λ Σ_i ‖d_i‖ Σ_n |F[i, n]|",
            ("F", "norms", "lam"),
            l1_loss(F, p.W_dec, p.lam),
            kind="l1_loss",
        ),
        Step(
            "l1_grad_pos",
            "[6] Sparsity: gradient where f > 0",
            "∂|f|/∂f = 1 where f > 0",
            ("F",),
            sign,
            mask=F > 0,
            kind="sign",
            axes=FEATURES,
        ),
        Step(
            "l1_grad_zeros",
            "[7] Sparsity: zeros stay zero",
            "∂|f|/∂f = 0 where f = 0",
            ("l1_grad_pos",),
            sign,
            kind="sign",
            axes=FEATURES,
        ),
        Step(
            "l1_grad",
            "[8] Sparsity: times the decoder lengths",
            "∂L1/∂F[i, n] = λ ‖d_i‖ · ∂|f|/∂f",
            ("l1_grad_zeros", "norms", "lam"),
            d_l1,
            kind="l1_grad",
            axes=FEATURES,
        ),
        Step(
            "mse_loss",
            "[9] Reconstruction: squared error",
            "L_mse = Σ (X' − X)²",
            ("X_hat", "X"),
            mse(X_hat, p.X),
            kind="sum_squares",
        ),
        Step(
            "dX_hat",
            "[10] Reconstruction: gradient",
            "dX' = ∂L_mse/∂X' = 2 (X' − X)",
            ("X_hat", "X"),
            dX_hat,
            kind="mse_grad",
            axes=TOKENS,
        ),
        Step(
            "loss",
            "Total loss",
            "L = L_mse + L1",
            ("mse_loss", "l1_loss"),
            mse(X_hat, p.X) + l1_loss(F, p.W_dec, p.lam),
            kind="total",
        ),
        Step(
            "dF",
            "Gradient at the features",
            "dF = W_decᵀ dX' + ∂L1/∂F",
            ("W_dec", "dX_hat", "l1_grad"),
            dF,
            product=("W_decᵀ", "dX_hat"),
            kind="dF",
            axes=FEATURES,
        ),
        Step(
            "dZ",
            "Back through the ReLU",
            "dZ = dF where Z > 0, else 0",
            ("dF", "Z"),
            dZ,
            kind="relu_backward",
            axes=FEATURES,
        ),
        Step(
            "dW_enc",
            "Encoder weight gradient",
            "dW_enc = dZ Xᵀ",
            ("dZ", "X"),
            dW_enc,
            product=("dZ", "Xᵀ"),
            kind="weight_grad",
            axes=ENCODER,
        ),
        Step(
            "db_enc",
            "Encoder bias gradient",
            "db_enc = dZ summed over tokens",
            ("dZ",),
            db_enc,
            kind="bias_grad",
            axes=("feature",),
        ),
        Step(
            "dW_dec_mse",
            "Decoder weight gradient: reconstruction part",
            "dW_dec_mse = dX' Fᵀ",
            ("dX_hat", "F"),
            dW_dec_mse,
            product=("dX_hat", "Fᵀ"),
            kind="weight_grad",
            axes=DECODER,
        ),
        Step(
            "dW_dec_l1",
            "Decoder weight gradient: sparsity part",
            "dW_dec_l1, column i = λ (Σ_n F[i, n]) d_i / ‖d_i‖",
            ("F", "W_dec", "norms", "lam"),
            dW_dec_l1,
            kind="decoder_penalty_grad",
            axes=DECODER,
        ),
        Step(
            "dW_dec",
            "Decoder weight gradient",
            "dW_dec = dW_dec_mse + dW_dec_l1",
            ("dW_dec_mse", "dW_dec_l1"),
            grads["W_dec"],
            kind="sum_parts",
            axes=DECODER,
        ),
        Step(
            "db_dec",
            "Decoder bias gradient",
            "db_dec = dX' summed over tokens",
            ("dX_hat",),
            db_dec,
            kind="bias_grad",
            axes=("dim",),
        ),
    ]
    for name in grads:
        steps.append(
            Step(
                f"{name}_new",
                f"Update {name}",
                f"new {name} = {name} − lr · d{name}  (lr = {p.lr:g})",
                (name, f"d{name}"),
                new[name],
                kind="update",
                axes=axes[name],
            )
        )
    d, n = p.X.shape
    return Trace(
        f"Sparse autoencoder: {n} tokens of {d}-D -> {p.W_enc.shape[0]} features",
        given,
        steps,
        axes,
        p.seed,
    )


def _sizes(problem: AutoencoderProblem) -> str:
    sizes = [problem.X.shape[0]] + [W.shape[0] for W, _ in problem.layers]
    return " -> ".join(map(str, sizes))
