"""The five alert rules, each induced on purpose (D3)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D3_alerts(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D3")
