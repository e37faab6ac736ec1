"""Memory and open files, measured and reported (D8)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D8_resources(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D8")
