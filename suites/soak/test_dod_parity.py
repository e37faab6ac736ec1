"""JSONL vs SQLite parity, recomputed from the sinks (D5)."""

from pytest_soak.suite import test_D5_dual_sink_parity  # noqa: F401
