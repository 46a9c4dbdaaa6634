"""Test settings.

- hypothesis draws the same examples on every run (the course is deterministic).
- With FAIL_ON_SKIP=1 (as CI sets it), a skipped test fails the run: CI must run everything,
  the browser tests included.
- Answer grids keep no answers (HANDCALC_ANSWERS is empty), here and in every kernel the tests
  start, so that no test sees another's typing; the tests of keeping answers set their own file.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "course", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("course")
os.environ["HANDCALC_ANSWERS"] = ""

SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("FAIL_ON_SKIP") == "1" and SKIPPED and session.exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAIL_ON_SKIP=1: {len(SKIPPED)} skipped, which counts as a failure"
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
