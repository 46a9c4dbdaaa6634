"""What a screen reader hears, and the keys a keyboard learner keeps, in a course widget.

Every course widget holds one Announcer, an invisible child that does three things in the
browser:

- it is the widget's live region (`role="status"`): one element, kept for the widget's life and
  updated in place, so a screen reader reads out each new text (a hint, a worked entry, a step of
  the viewer, a gallery's page, Check's verdict) without the learner moving there;
- it names a grid's boxes for a screen reader once (aria-label), not twice (ipywidgets' hidden
  label, which is also read as text, is hidden from it);
- it keeps the widget's keys: JupyterLab's notebook takes the arrow keys, Home, End, Page Up and
  Down, Space and Enter for its own commands (↓ selects the next cell) wherever the focus is not
  in a text box, so a menu or a button in an output loses them. The Announcer stops those keys,
  pressed on one of its widget's menus or buttons, from reaching JupyterLab (the browser still
  does what the key does: ↓ picks the next choice, Enter presses the button). Keys with Ctrl,
  Alt or Cmd, Shift+Enter (run the cell), Tab and Escape go on as usual.

Uses anywidget (a small, well-kept library for widgets with their own JavaScript; ipywidgets
offers no way to set a role or listen to keys). In tests, without a browser, `text` is what
would be read out.
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
const KEPT = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End",
                      "PageUp", "PageDown", " ", "Enter"]);

function keepKeys(box) {
  box.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !KEPT.has(event.key)) return;
    if (event.shiftKey && event.key === "Enter") return;  // run the cell, as everywhere
    if (event.target.matches("select, button")) event.stopPropagation();
  });
}

// A grid box is named by its ipywidgets <label> (0 px wide), which a screen reader would also
// read as text: give the box that name as aria-label and hide the label from the reader, again
// whenever a label changes (Check adds ": right" or ": wrong").
function nameBoxes(box) {
  for (const field of box.querySelectorAll(".widget-text")) {
    const label = field.querySelector("label"), input = field.querySelector("input");
    if (!label || !input || !label.textContent.trim()) continue;
    if (input.getAttribute("aria-label") !== label.textContent) {
      input.setAttribute("aria-label", label.textContent);
    }
    label.setAttribute("aria-hidden", "true");
  }
}

export default {
  render({ model, el }) {
    el.classList.add("handcalc-said");
    el.setAttribute("role", "status");
    const say = () => { el.textContent = model.get("text"); };
    say();
    model.on("change:text", say);
    let frames = 0;
    const attach = () => {  // the widget's box holds el once it has been drawn
      const box = el.closest(".handcalc-widget");
      if (box && !box.dataset.handcalcKeys) {
        box.dataset.handcalcKeys = "kept";
        keepKeys(box);
        nameBoxes(box);
        new MutationObserver(() => nameBoxes(box)).observe(
          box, {subtree: true, childList: true, characterData: true});
      } else if (!box && frames++ < 600) {
        requestAnimationFrame(attach);
      }
    };
    attach();
    return () => model.off("change:text", say);
  },
};
"""

# Visually hidden, still read (the usual "screen-reader only" rule).
_CSS = """
.handcalc-said {
  position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
"""


class Announcer(anywidget.AnyWidget):
    """A widget's live region; `say(text)` has a screen reader read text out."""

    _esm = _ESM
    _css = _CSS
    text = traitlets.Unicode("").tag(sync=True)

    def say(self, text: str) -> None:
        """Read out text (plain text, one line is best). The same text twice is read twice: a
        screen reader only speaks a change, so a repeat gets a no-break space added or taken
        off."""
        text = " ".join(text.split())
        self.text = text + "\u00a0" if self.text == text else text
