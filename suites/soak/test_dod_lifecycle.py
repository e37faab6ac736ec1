"""Run lifecycle: duration (D1) and graceful shutdown (D10)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D1_duration(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D1")


def test_D10_graceful_shutdown(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D10")
