"""The five alert rules, each induced on purpose (D3)."""

from pytest_soak.suite import test_D3_alerts  # noqa: F401
