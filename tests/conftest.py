"""Test settings: hypothesis draws the same examples on every run (the course is deterministic)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "course", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("course")
