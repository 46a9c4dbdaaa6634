"""Where a learner's typed answers are kept, so that they survive a kernel restart or a reopened
notebook: a small JSON file beside the notebooks (handcalc_answers.json in the kernel's working
directory, which JupyterLab sets to the notebook's folder).

Answers are keyed by notebook, problem and step: the same grid of the same problem gets its
numbers back; another seed starts empty. HANDCALC_ANSWERS=path puts the file elsewhere, and
HANDCALC_ANSWERS= (empty) keeps nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np

from .traces import Trace

FILE_NAME = "handcalc_answers.json"


def answers_file() -> Path | None:
    """The file answers are kept in, or None when keeping them is switched off."""
    setting = os.environ.get("HANDCALC_ANSWERS")
    if setting is None:
        return Path.cwd() / FILE_NAME
    return Path(setting) if setting else None


def problem_id(trace: Trace) -> str:
    """A short fingerprint of the problem's given numbers (the same problem, the same id)."""
    digest = hashlib.sha256(trace.title.encode())
    for name, value in trace.given.items():
        digest.update(name.encode() + np.asarray(value, dtype=float).tobytes())
    return digest.hexdigest()[:12]


def notebook_name() -> str:
    """The notebook the kernel runs for (JupyterLab tells the kernel), or "" if unknown."""
    return Path(os.environ.get("JPY_SESSION_NAME", "")).name


def key(trace: Trace, step: str) -> str:
    return f"{notebook_name()}|{problem_id(trace)}|{step}"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # no file yet, or one that is not ours: start afresh, never crash a lesson
    return data if isinstance(data, dict) else {}


def load(trace: Trace, step: str) -> tuple[list[list[str]], str] | None:
    """The texts last typed into this grid and when, or None."""
    path = answers_file()
    entry = _read(path).get(key(trace, step)) if path else None
    if not isinstance(entry, dict) or not isinstance(entry.get("texts"), list):
        return None
    return entry["texts"], str(entry.get("saved", ""))


def save(trace: Trace, step: str, texts: list[list[str]]) -> bool:
    """Keep the grid's texts (written whole to a temporary file, then moved into place).
    False if they could not be written."""
    path = answers_file()
    if path is None:
        return True  # keeping answers is switched off: nothing to report
    data = _read(path)
    data[key(trace, step)] = {"texts": texts, "saved": datetime.now().strftime("%Y-%m-%d %H:%M")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
        os.replace(f.name, path)
    except OSError:
        return False  # a read-only folder: the grid still works, it only cannot remember
    return True
