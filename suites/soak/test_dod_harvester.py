"""Harvester SLO outside induced faults (D7)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D7_harvester_slo(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D7")
