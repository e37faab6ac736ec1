"""'no event lost' by element against the feed's deliveries (pytest_soak/checks/event_ids.py):
a dropped connection's in-flight ids are excused only because a fault that cuts connections
closed it."""

from __future__ import annotations

from pathlib import Path

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.evidence_loader import RunEvidence
from tests.mutations.recorded_feed import _claim_count, _drop_from_handoff

from .factory import rewrite

OBS, MAN = "harness_observations.json", "run_manifest.json"


def _part(run_dir: Path):
    result = run_check("D9", RunEvidence.load(run_dir, fresh=True), Thresholds())
    return next(p for p in result.parts if p.item == "no event lost")


def _lose_the_drops_tail(run_dir: Path) -> None:
    """ids 55-60 were in flight on connection 1 when the drop (market s 60) cut it."""
    _drop_from_handoff(run_dir, "BTCUSDT", range(55, 61))
    rewrite(run_dir, MAN, lambda doc: (_claim_count(doc, "harvester_metrics", 494),
                                       _claim_count(doc, "signal_metrics", 494)))


def test_ids_in_flight_when_a_drop_cuts_the_connection_are_excused(good_run_dir: Path) -> None:
    _lose_the_drops_tail(good_run_dir)
    part = _part(good_run_dir)
    assert part.status == "pass", part.reason
    assert "6 in flight" in part.reason


def test_the_same_ids_are_lost_when_no_fault_cut_the_connection(good_run_dir: Path) -> None:
    _lose_the_drops_tail(good_run_dir)
    rewrite(good_run_dir, OBS, lambda doc: doc.update(
        faults=[f for f in doc["faults"] if f["kind"] != "drop_connections"]))
    part = _part(good_run_dir)
    assert part.status == "fail"
    assert "BTCUSDT: 6 delivered by the feed" in part.reason and "55-60 (6, conn 1" in part.reason
