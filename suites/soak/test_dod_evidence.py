"""The evidence files: manifest (D6) and the whole bundle (D11)."""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item


def test_D6_manifest(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D6")


def test_D11_evidence_bundle(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D11")
