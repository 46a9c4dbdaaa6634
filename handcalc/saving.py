"""What a saved notebook keeps of the course's widgets: a plain line, not a broken view.

A widget lives in the kernel; once the kernel is gone, JupyterLab can only show "Error displaying
widget: model not found" where it was. The course's widgets carry a text fallback ("run this
cell to get your grid and your answers back"), and `drop_widget_views`, JupyterLab's pre-save
hook (`python course.py lab` sets it), saves that line in place of the view. The answers
themselves are kept by `handcalc.answers`.
"""

from __future__ import annotations

from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HOOK = "handcalc.saving.drop_widget_views"  # --ContentsManager.pre_save_hook=HOOK


def drop_widget_views(model: dict, **_: Any) -> None:
    """Pre-save hook: remove widget views from a notebook's outputs, keeping their text."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data")
            if isinstance(data, dict) and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                data.setdefault("text/plain", "Run this cell to show its widget again.")
