"""JSONL vs SQLite parity, recomputed from the sinks (D5)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D5_dual_sink_parity(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D5")
