"""The execution outbox (D12)."""

from pytest_soak.suite import test_D12_execution_outbox  # noqa: F401
