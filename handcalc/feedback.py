"""A check's verdict (Feedback) and how it is printed: right or wrong, the message, which
entries are right, and the key of the mistake named. Every check returns one; the grader and the
learner's own cells (`hc.exercise()`) read them.
"""

from __future__ import annotations

import html
import textwrap
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

# Right and wrong: a symbol, its colour and a cell tint (Okabe–Ito blue and vermillion, which
# colour-blind readers can tell apart, darkened to 4.5:1 or more on white and on the tint, as
# WCAG AA asks of text); never the colour alone.
RIGHT = ("✔", "#005a8c", "#dcebf7")


WRONG = ("✘", "#a33a00", "#fbe3d6")


# Printed messages are wrapped at word boundaries to this many characters, continuation lines
# indented: JupyterLab breaks a long output line anywhere, even inside a word.
WIDTH = 88


# The verdicts a check cell has shown so far (printed or displayed), while hc.exercise() runs:
# what the learner sees is what a grader counts.
shown: ContextVar[list[Feedback] | None] = ContextVar("shown", default=None)


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer. right: which entries are right (None when the shape is off).
    mistake: the key of the mistake diagnosed (e.g. "relu_backward.mask_forgotten"), if any."""

    correct: bool
    message: str
    right: np.ndarray | None = None
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        self._shown()
        return wrapped(self.message)

    def _shown(self) -> None:
        verdicts = shown.get()
        if verdicts is not None and all(v is not self for v in verdicts):
            verdicts.append(self)

    def _repr_html_(self) -> str:
        self._shown()
        symbol, colour, _ = RIGHT if self.correct else WRONG
        word = "right" if self.correct else "wrong"  # what a screen reader says for the symbol
        return (f"<div style='color:{colour}'><b role='img' aria-label='{word}'>{symbol}</b> "
                f"{html.escape(self.message)}</div>")  # fmt: skip


def wrapped(message: str) -> str:
    """A message as printed: wrapped between words at WIDTH, later lines indented by two."""
    return "\n".join(
        textwrap.fill(paragraph, WIDTH, subsequent_indent="  ", break_long_words=False,
                      break_on_hyphens=False)
        for paragraph in message.split("\n")
    )  # fmt: skip
