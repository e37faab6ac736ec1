"""On a recording the harness does not know the market's regimes: an alert of a rule the
market itself provokes (low_consistency, strong_ratio_collapse), fired outside every fault
window, is `unknown` for D3's "no stray alerts" -- neither excused nor called a stray. On the
generated market, whose regimes the harness sets, it is a stray (`fail`); and on a recording a
stray of a rule only the harness's faults provoke (no_data) still fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.evidence_loader import RunEvidence
from tests.soak_checks.factory import rewrite


def _stray_part(run: Path) -> dict:
    result = run_check("D3", RunEvidence.load(run, fresh=True), Thresholds())
    return next(p for p in result.parts if p.item == "no stray alerts")


def _as_recording(run: Path) -> None:
    rewrite(run, "harness_observations.json", lambda o: o["feed"].update(
        source={"kind": "recording", "file": "capture.jsonl.gz", "snapshots": True,
                "loops": 3, "length_s": 45.0, "note": "its REST depth snapshots served"}))


def _without_fault(run: Path, fault_id: str) -> None:
    """The run as if the fault that induced the rule's alert had never been scheduled: the
    alert stays, now outside every window that expects or tolerates it."""
    rewrite(run, "harness_observations.json", lambda o: o.__setitem__(
        "faults", [f for f in o["faults"] if f["id"] != fault_id]))


@pytest.mark.parametrize(("rule", "fault", "recording", "status"), [
    ("low_consistency", "choppy", True, "unknown"),
    ("low_consistency", "choppy", False, "fail"),
    ("no_data", "pause", True, "fail"),          # only the harness's pause provokes it
])
def test_a_market_driven_alert_on_a_recording_is_undecided_never_excused(
        good_run_dir: Path, rule: str, fault: str, recording: bool, status: str) -> None:
    _without_fault(good_run_dir, fault)
    if recording:
        _as_recording(good_run_dir)
    part = _stray_part(good_run_dir)
    assert part.status == status, part.reason
    assert f"{rule}@" in part.reason
