"""The DoD checks: one function per item, `check_Dn(run: RunEvidence, t: Thresholds) ->
ItemResult`, one module per theme. `judge` runs them all; a check that raises is reported
as unknown with the exception (a harness bug must never read as a pass)."""

from __future__ import annotations

from collections.abc import Callable

from pytest_soak.checks.alerts import check_D3
from pytest_soak.checks.bundle import check_D11
from pytest_soak.checks.duration import check_D1
from pytest_soak.checks.export import check_D4
from pytest_soak.checks.harvester import check_D7
from pytest_soak.checks.health import check_D2
from pytest_soak.checks.manifest import check_D6
from pytest_soak.checks.outbox import check_D12
from pytest_soak.checks.parity import check_D5
from pytest_soak.checks.resources import check_D8
from pytest_soak.checks.restart import check_D9
from pytest_soak.checks.shutdown import check_D10
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.verdict import ItemResult, unknown

Check = Callable[[RunEvidence, Thresholds], ItemResult]

CHECKS: dict[str, Check] = {
    "D1": check_D1, "D2": check_D2, "D3": check_D3, "D4": check_D4, "D5": check_D5,
    "D6": check_D6, "D7": check_D7, "D8": check_D8, "D9": check_D9, "D10": check_D10,
    "D11": check_D11, "D12": check_D12,
}

TITLES = {
    "D1": "the run lasts the requested minutes and ends by a graceful stop",
    "D2": "every stage is healthy in the harness's own polls",
    "D3": "every alert rule fires when induced and resolves after",
    "D4": "the time-series store holds every minute, equal to the sinks",
    "D5": "JSONL and SQLite sinks agree",
    "D6": "the run manifest is valid and complete",
    "D7": "the harvester meets its SLO outside induced faults",
    "D8": "memory and open files stay under their ceilings, measured and reported alike",
    "D9": "a SIGKILLed stage comes back quickly and loses nothing",
    "D10": "shutdown goes in order, leaves no orphan and loses nothing",
    "D11": "the evidence bundle is complete and valid",
    "D12": "the execution outbox holds every event exactly once",
}


def run_check(item: str, run: RunEvidence, t: Thresholds) -> ItemResult:
    try:
        return CHECKS[item](run, t)
    except Exception as exc:  # noqa: BLE001 -- a crashing check is a harness bug: unknown
        return unknown(item, f"the check itself crashed: {type(exc).__name__}: {exc}")


def judge(run: RunEvidence, t: Thresholds) -> dict[str, ItemResult]:
    return {item: run_check(item, run, t) for item in CHECKS}


__all__ = ["CHECKS", "TITLES", "Thresholds", "judge", "run_check"]
