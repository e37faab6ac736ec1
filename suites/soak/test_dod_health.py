"""Health as the harness's own polls see it (D2)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D2_health(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D2")
