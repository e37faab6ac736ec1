"""The execution outbox (D12)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D12_execution_outbox(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D12")
