"""Health as the harness's own polls see it (D2)."""

from pytest_soak.suite import test_D2_health  # noqa: F401
