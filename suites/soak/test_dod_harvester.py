"""Harvester SLO outside induced faults (D7)."""

from pytest_soak.suite import test_D7_harvester_slo  # noqa: F401
