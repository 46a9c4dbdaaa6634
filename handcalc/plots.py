"""Figures for the lessons (matplotlib). Colour-blind-safe colours, every figure titled with
labelled axes; signed matrices use a diverging map centred on zero, with the numbers written in."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .figures import describe as describe_figure
from .figures import finding_of
from .superposition import ToyModel

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]


def represented(model: ToyModel, threshold: float = 0.5) -> int:
    """How many features the model keeps: columns of W longer than the threshold."""
    return len(model.kept(threshold))


def describe(model: ToyModel) -> str:
    """One line that says what the toy-model figure shows."""
    n = model.W.shape[1]
    return (
        f"S = {model.sparsity:g}: {represented(model)} of {n} features represented in "
        f"{model.W.shape[0]} dimensions (column length > 0.5)."
    )


def plot_toy_model(model: ToyModel) -> plt.Figure:
    """Left: each feature's direction (a column of W) as a labelled arrow. Right: WᵀW."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    dropped = []
    for i, (x, y) in enumerate(model.W.T):
        if np.hypot(x, y) < 0.2:  # too short to draw or label: named in a corner instead
            dropped.append(f"f{i + 1}")
            continue
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        left.annotate("", (x, y), (0, 0), arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
        left.text(x * 1.12, y * 1.12, f"f{i + 1}", color=colour, ha="center", va="center")
    if dropped:
        left.text(0.03, 0.97, "length ≈ 0: " + ", ".join(dropped), transform=left.transAxes,
                  va="top", fontsize=9)  # fmt: skip
    limit = max(1.4, 1.3 * np.abs(model.W).max())
    left.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    left.set(title="Feature directions (columns of W)", xlabel="dimension 1", ylabel="dimension 2")
    left.axhline(0, color="0.85", lw=0.8), left.axvline(0, color="0.85", lw=0.8)
    gram = model.interference()
    scale = np.abs(gram).max() or 1.0
    image = right.imshow(gram, cmap="PuOr", vmin=-scale, vmax=scale)
    for (r, c), value in np.ndenumerate(gram):
        ink = "white" if abs(value) > 0.6 * scale else "black"
        shown = 0.0 if abs(value) < 0.05 else value  # no "-0.0"
        right.text(c, r, f"{shown:.1f}", ha="center", va="center", fontsize=8, color=ink)
    labels = [f"f{i + 1}" for i in range(gram.shape[0])]
    right.set_xticks(range(len(labels)), labels), right.set_yticks(range(len(labels)), labels)
    right.set(title="WᵀW: lengths² and overlaps", xlabel="feature", ylabel="feature")
    fig.colorbar(image, ax=right, shrink=0.8)
    fig.suptitle(describe(model))
    overlap = np.abs(gram - np.diag(np.diag(gram))).max()
    describe_figure(fig, f"The largest overlap of two different features in WᵀW is {overlap:.2f}.")
    fig.tight_layout()
    return fig


def plot_graph(
    ax,
    nodes: dict[str, tuple[float, float]],
    edges: list[tuple[str, str, float]],
    title: str,
) -> None:
    """A circuit: nodes at (x, y), labelled by name; an edge's width grows with |weight|,
    positive edges are solid blue, negative ones dashed vermillion (shape and colour)."""
    largest = max((abs(w) for _, _, w in edges), default=1.0) or 1.0
    for start, end, weight in edges:
        (x0, y0), (x1, y1) = nodes[start], nodes[end]
        ax.plot(
            [x0, x1],
            [y0, y1],
            color=OKABE_ITO[0] if weight > 0 else OKABE_ITO[3],
            linestyle="-" if weight > 0 else "--",
            linewidth=0.5 + 6 * abs(weight) / largest,
            zorder=1,
        )
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "black"}
    for name, (x, y) in nodes.items():
        ax.annotate(name, (x, y), ha="center", va="center", fontsize=8, bbox=box, zorder=3)
    xs, ys = zip(*nodes.values(), strict=True)
    ax.set_xlim(min(xs) - 0.4, max(xs) + 0.4)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_title(title)
    ax.axis("off")
    strongest = sorted(edges, key=lambda edge: -abs(edge[2]))[:4]
    said = "; ".join(f"{a} to {b} {w:+.2f}" for a, b, w in strongest).replace("\n", " ")
    panel = f"{title.replace(chr(10), ' ')}: " if len(ax.figure.axes) > 1 else ""  # which one
    describe_figure(ax.figure, f"{panel}Strongest links: {said}.")


def missing_labels(figure: plt.Figure) -> list[str]:
    """What a figure leaves unsaid: what it shows, in words (figures.describe, its alt text);
    each drawn plot without a title (its own or the figure's) or with an axis that shows tick
    labels but no axis label. [] when all is said. Colour
    bars, plots drawn without axes (graphs) and axes whose tick labels are hidden (the inner
    panels of a row that shares its y axis) need no label."""
    missing = []
    if figure.axes and not finding_of(figure):  # (a worksheet's page has no axes: not a plot)
        missing.append("the figure does not say what it shows (describe)")
    suptitle = figure._suptitle.get_text() if figure._suptitle else ""
    for number, ax in enumerate(figure.axes, start=1):
        if not (ax.get_visible() and ax.axison) or hasattr(ax, "_colorbar"):
            continue
        name = ax.get_title() or suptitle or f"plot {number} of {len(figure.axes)}"
        if not (ax.get_title() or suptitle):
            missing.append(f"{name}: no title")
        for axis, label in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            if numbered(axis) and not axis.get_label_text():
                missing.append(f"{name}: the {label} axis has no label")
    return missing


def numbered(axis) -> bool:
    """Whether an axis shows tick labels, so that a reader needs to know what they count."""
    ticks = axis.get_major_ticks() if axis.get_visible() else []
    return any(tick.label1.get_visible() or tick.label2.get_visible() for tick in ticks)
