"""Time-series export, read back from the real store (D4)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D4_timeseries_export(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D4")
