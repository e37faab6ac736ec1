"""Run lifecycle: duration (D1) and graceful shutdown (D10)."""

from pytest_soak.suite import test_D1_duration, test_D10_graceful_shutdown  # noqa: F401
