"""Fault injection: a SIGKILLed stage comes back (D9)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D9_fault_injection_restart(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D9")
