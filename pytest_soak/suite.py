"""The DoD suite: one test per Definition-of-Done item, shipped with the plugin.

Each test asks for `soak_judgement` (one soak per --soak-sink value, judged once) and asserts
its own item. Run it from any project with `pytest --pyargs pytest_soak.suite --soak-config
PIPELINE.yaml`, or import the tests into a test module of your own
(`from pytest_soak.suite import *`); this checkout's suites/soak imports them by theme.
A test named test_Dn_* asserts exactly its item Dn (tests/soak_checks/test_registry.py).
"""

from __future__ import annotations

from pytest_soak.checks.judgement import Judgement, assert_item

__all__ = [
    "test_D1_duration", "test_D2_health", "test_D3_alerts", "test_D4_timeseries_export",
    "test_D5_dual_sink_parity", "test_D6_manifest", "test_D7_harvester_slo", "test_D8_resources",
    "test_D9_fault_injection_restart", "test_D10_graceful_shutdown", "test_D11_evidence_bundle",
    "test_D12_execution_outbox", "test_D13_fault_free_model",
]


def test_D1_duration(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D1")


def test_D2_health(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D2")


def test_D3_alerts(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D3")


def test_D4_timeseries_export(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D4")


def test_D5_dual_sink_parity(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D5")


def test_D6_manifest(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D6")


def test_D7_harvester_slo(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D7")


def test_D8_resources(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D8")


def test_D9_fault_injection_restart(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D9")


def test_D10_graceful_shutdown(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D10")


def test_D11_evidence_bundle(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D11")


def test_D12_execution_outbox(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D12")


def test_D13_fault_free_model(soak_judgement: Judgement) -> None:
    assert_item(soak_judgement, "D13")
