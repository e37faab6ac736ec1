"""Time-series export, read back from the real store (D4)."""

from pytest_soak.suite import test_D4_timeseries_export  # noqa: F401
