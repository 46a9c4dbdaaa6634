"""A text alternative for every figure a lesson shows.

JupyterLab draws a matplotlib figure as an image without alt text, which a screen reader can only
call "image". `alt_text(figure)` says what the figure is from its own titles (every course figure
has them; the browser tests check it), and `figure_html` is the figure as an `<img>` with that alt
text. `describe_figures()`, which `import handcalc` calls inside IPython, makes the notebook show
every figure that way; the lesson's "*Figure: ...*" sentence under it says what it shows.
"""

from __future__ import annotations

import base64
import html
import sys
from io import BytesIO


def png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, cropped as the notebook crops figures."""
    buffer = BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def describe(figure, finding: str):
    """Say what the figure shows, in words (its finding, with the run's numbers): added to its
    alt text after the titles (a second call adds to the first: one per panel). Returns the
    figure."""
    figure._handcalc_finding = " ".join(filter(None, (finding_of(figure), finding)))
    return figure


def finding_of(figure) -> str:
    """What describe() said the figure shows, or ""."""
    return getattr(figure, "_handcalc_finding", "")


def alt_text(figure) -> str:
    """ "Figure: <suptitle>: <each panel's title>" (panels without a title are left out), then
    what it shows if describe() said so."""
    titles = [figure._suptitle.get_text()] if getattr(figure, "_suptitle", None) else []
    titles += [ax.get_title() for ax in figure.axes if ax.get_title()]
    said = "; ".join(t.replace("\n", " ") for t in titles if t.strip())
    said = ". ".join(part for part in (said, finding_of(figure)) if part)
    return f"Figure: {said}" if said else "Figure (described in the text below)"


def figure_html(figure, alt: str | None = None) -> str:
    """The figure as an <img> with a text alternative (default: alt_text(figure))."""
    data = base64.b64encode(png(figure)).decode()
    alt = html.escape(alt or alt_text(figure), quote=True)
    return f'<img src="data:image/png;base64,{data}" alt="{alt}">'


def describe_figures() -> None:
    """In IPython: show every matplotlib figure as figure_html (matplotlib is not imported for
    it). The printer is registered for Figure's base class: when the inline backend starts, it
    removes every printer registered for Figure itself."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        formatter = shell.display_formatter.formatters["text/html"]
        formatter.for_type_by_name("matplotlib.figure", "FigureBase", figure_html)
