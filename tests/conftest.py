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
SITES = ("resid_1", "resid_2")


@pytest.fixture(scope="session")
def lm():
    """The shipped model, lesson 08's corpus (3000 sentences, seed 2) and the activations of
    both residual streams, as lessons 08-11 collect them."""
    import torch

    from handcalc.features import collect
    from handcalc.grammar import corpus
    from handcalc.lm import load

    torch.set_num_threads(1)
    model, data = load(), corpus(3000, seed=2)
    return model, data, {site: collect(model, data, site) for site in SITES}


@pytest.fixture(scope="session")
def seed_saes(lm):
    """SAEs of the shipped recipe (64 latents, TopK k=4) trained from seeds 1-5 at both sites:
    what a learner's own training gives instead of the shipped SAE. {(site, seed): SAE}"""
    from handcalc.shipped import train

    _, _, acts = lm
    return {
        (site, seed): train(64, 4, acts[site].X, seed) for site in SITES for seed in range(1, 6)
    }


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
