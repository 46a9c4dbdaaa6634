"""The project keeps its promises: a light import, one set of dependencies, one test command."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import course

ROOT = Path(__file__).resolve().parent.parent


def test_import_needs_neither_torch_nor_matplotlib() -> None:
    code = (
        "import sys, handcalc; "
        "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def locked() -> dict[str, str]:
    """{package name, normalised: version} from constraints.txt, the pins for this Python and
    system (a pin may be marked for others)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        text = line.split("#")[0].strip()
        if text:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate():
                (pin,) = requirement.specifier
                assert pin.operator == "==", f"not an exact pin: {line}"
                name = canonicalize_name(requirement.name)
                assert name not in pins, f"{name} is pinned twice for this Python"
                pins[name] = pin.version
    return pins


def wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        listed += extra
    return [Requirement(line) for line in listed]


def test_the_lock_pins_every_dependency_within_pyprojects_bounds() -> None:
    pins = locked()
    for requirement in wanted():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement}"
        )
    assert f"torch=={pins['torch']}" == course.TORCH, "course.py installs another torch"


def test_environment_yml_pins_what_the_lock_pins() -> None:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = dict(line.split("==") for line in pip_section if not line.startswith("-"))
    pins = locked()
    assert sorted(canonicalize_name(n) for n in listed) == sorted(
        canonicalize_name(r.name) for r in wanted()
    ), "environment.yml and pyproject.toml list different packages"
    for name, version in listed.items():
        assert pins[canonicalize_name(name)] == version, f"{name}: environment.yml != lock"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = next(d for d in environment["dependencies"] if str(d).startswith("python="))
    conda_version = tuple(int(part) for part in python.removeprefix("python=").split("."))
    minimum = tuple(int(part) for part in project["requires-python"].removeprefix(">=").split("."))
    assert conda_version >= minimum, f"environment.yml's {python} is older than requires-python"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python course.py test" in readme and "python course.py lab" in readme
    commands = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1].strip() == "FAIL_ON_SKIP=1 python3 course.py test"
    assert 'export PATH="$nomake"' in ci and "make is still on PATH" in ci  # run without make
    assert "apt-get" in ci and "install -y chromium" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert "course.py test" in makefile and "course.py lab" in makefile  # make: thin aliases


def test_fail_on_skip_turns_a_skipped_test_into_a_failed_run(tmp_path: Path) -> None:
    (tmp_path / "test_demo.py").write_text(
        "import pytest\n\ndef test_demo():\n    pytest.skip('no')\n"
    )
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")

    def run(fail_on_skip: str) -> int:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "FAIL_ON_SKIP": fail_on_skip}
        return subprocess.run(
            command, env=environment, cwd=tmp_path, capture_output=True
        ).returncode

    assert run("0") == 0
    assert run("1") == 1


def test_the_licenses_ship_and_agree_with_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    content = (ROOT / "LICENSE-CONTENT.md").read_text()
    assert "CC BY 4.0" in content and "creativecommons.org/licenses/by/4.0/legalcode" in content


def _imports(root: Path) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (anywhere in it: at the
    top, inside a function, or only for type checking)."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[:-1]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    targets.add(".".join([*base, node.module]))
                else:
                    targets.update(".".join([*base, alias.name]) for alias in node.names)
        found[name] = targets
    return {m: {t for t in ts if t in found and t != m} for m, ts in found.items()}


def test_handcalcs_modules_import_each_other_without_a_circle() -> None:
    """Issue 26: each module sits above the ones it uses (problems -> seeds -> traces ...); a
    circle, even through an import inside a function, fails. A package's __init__ is left out
    (it gathers its modules; they never import it back)."""
    graph = {
        m: {t for t in ts if not m.startswith(t + ".")}
        for m, ts in _imports(ROOT / "handcalc").items()
    }
    state: dict[str, int] = {}

    def circle_from(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1  # on the path
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target] if target in path else [target]
            if not state.get(target):
                found = circle_from(target, [*path, target])
                if found:
                    return found
        state[module] = 2  # done
        return None

    for module in sorted(graph):
        if not state.get(module):
            found = circle_from(module, [module])
            assert not found, "an import circle: " + " -> ".join(found)
    assert "handcalc.traces" in graph["handcalc.seeds"] and graph["handcalc.display"] == set()
