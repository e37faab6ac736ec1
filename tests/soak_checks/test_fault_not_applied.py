"""A fault that expects an alert but could not be applied makes the alert's part unknown and
says why (a regime on a recording: the market is not the generator)."""

from __future__ import annotations

from pathlib import Path

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.fault_kinds.regime import ON_RECORDING

from .edits import OBS
from .factory import rewrite


def _never_applied(doc: dict) -> None:
    for fault in doc["faults"]:
        if fault["id"] == "pause":               # the good run's fault expecting no_data
            fault.update(start_event_ms=None, end_event_ms=None, effect_confirmed=False,
                         error=f"start failed: {ON_RECORDING}")


def test_the_alert_part_is_unknown_with_the_faults_own_reason(good_run_dir: Path) -> None:
    rewrite(good_run_dir, OBS, _never_applied)
    result = run_check("D3", RunEvidence.load(good_run_dir, fresh=True), Thresholds())
    part = next(p for p in result.to_json()["parts"] if p["name"] == "no_data")
    assert part["status"] == "unknown"
    assert part["reason"] == f"the fault inducing no_data was not applied: start failed: " \
                             f"{ON_RECORDING}"
