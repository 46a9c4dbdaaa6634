"""Lesson 00's setup check: the course's packages, at the versions it is tested with, and widgets.

`check_setup()` prints one line per finding, ✔ right, ✘ broken (with the fix), ⚠ working but not
what the course is tested with; then it shows a small widget. Where widgets cannot show (the
JupyterLab has no widget extension), JupyterLab shows the widget's text instead, which says so
and how to fix it. (A kernel that cannot import handcalc at all is lesson 00's own cell's case.)
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
LOCK = COURSE / "constraints.txt"
# What the lessons import, by the name pip knows it by, and by the name Python imports.
PACKAGES = {
    "numpy": "numpy",
    "torch": "torch",
    "matplotlib": "matplotlib",
    "ipywidgets": "ipywidgets",
    "jupyterlab": "jupyterlab",
    "scikit-learn": "sklearn",
    "tqdm": "tqdm",
}
SETUP = "in the course's folder, run `python course.py setup`, then restart the kernel"
WIDGETS_MISSING = (
    "Widgets: run this cell to check them. If this line is still here after the cell has run, "
    "widgets do not show in this JupyterLab (its widget extension, jupyterlab_widgets, is "
    "missing or does not match ipywidgets). Fix: open the course with `python course.py lab`, "
    "whose JupyterLab has it; in a JupyterLab of your own, `pip install jupyterlab_widgets` "
    "and restart JupyterLab."
)


@dataclass(frozen=True)
class Finding:
    """ok: True (✔), False (✘: broken, with the fix) or None (⚠: works, but not as tested)."""

    ok: bool | None
    text: str

    def __str__(self) -> str:
        return f"{'✔' if self.ok else '✘' if self.ok is False else '⚠'} {self.text}"


def tested_versions(lock: Path = LOCK) -> dict[str, str]:
    """{package: version} from constraints.txt, the pins for this Python and system; {} where
    the course folder has none."""
    if not lock.exists():
        return {}
    from packaging.requirements import Requirement

    pins = {}
    for line in lock.read_text().splitlines():
        text = line.split("#")[0].strip()
        if text:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate():
                pins[requirement.name.lower()] = str(requirement.specifier).removeprefix("==")
    return pins


def findings(
    version: Callable[[str], str] = importlib.metadata.version,
    load: Callable[[str], object] = importlib.import_module,
    lock: Path = LOCK,
    prefix: str = sys.prefix,
) -> list[Finding]:
    """What is right and wrong with this kernel's Python, for the course."""
    found = []
    python = ".".join(map(str, sys.version_info[:3]))
    found.append(Finding(True, f"Python {python} ({sys.executable})"))
    tested = tested_versions(lock)
    for name, module in PACKAGES.items():
        try:
            have = version(name)
        except importlib.metadata.PackageNotFoundError:
            found.append(Finding(False, f"{name} is not installed in this Python. Fix: {SETUP}."))
            continue
        try:
            load(module)
        except Exception as error:  # installed, but broken: a missing library, a bad wheel
            why = f"{type(error).__name__}: {error}".splitlines()[0]
            found.append(Finding(False, f"{name} {have} is installed but does not load ({why}). "
                                 f"Fix: {SETUP}."))  # fmt: skip
            continue
        want = tested.get(name)
        if want and have.split("+")[0] != want:
            found.append(Finding(None, f"{name} {have}; the course is tested with {want}. If a "
                                 f"lesson misbehaves: {SETUP}."))  # fmt: skip
        else:
            found.append(Finding(True, f"{name} {have}"))
    course_venv = COURSE / ".venv"
    if course_venv.exists() and Path(prefix).resolve() != course_venv.resolve():
        found.append(Finding(None, f"This notebook runs in {prefix}, not in the course's own "
                             f"environment ({course_venv}). Fine if every line above is ✔; if "
                             "not, start the course with `python course.py lab`, or pick its "
                             "kernel (Kernel > Change Kernel)."))  # fmt: skip
    return found


def widget_probe():
    """A widget that says widgets work; its text, shown where widgets cannot be, says the fix."""
    import ipywidgets as widgets

    class Probe(widgets.HTML):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/plain"] = WIDGETS_MISSING
            return bundle

    return Probe("<b style='color:#005a8c'>✔ Widgets work</b>: you can see this box.")


def check_setup() -> None:
    """Print every finding, then show the widget probe."""
    from IPython.display import display

    for finding in findings():
        print(finding)
    display(widget_probe())
