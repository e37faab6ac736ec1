"""D12 "terminal decisions" on the good run: an eligible signal the broker cannot have seen
before it stopped is pending (named, not failed); the same gap earlier in the run fails; an
undeclared broker config is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_soak.checks import Thresholds, judge
from pytest_soak.evidence_loader import RunEvidence

from .factory import rewrite, write_jsonl

READY = "outbox/ready/0001.jsonl"


def _part(run: Path, thresholds: Thresholds | None = None) -> dict:
    item = judge(RunEvidence.load(run, fresh=True), thresholds or Thresholds())["D12"]
    return next(p for p in item.to_json()["parts"] if p["name"] == "terminal decisions")


def _drop_last_decision(run: Path) -> str:
    events = [json.loads(line) for line in (run / READY).read_text().splitlines()]
    last = events[-1]["client_order_id"]
    write_jsonl(run / READY, [e for e in events if e["client_order_id"] != last])
    return events[-1]["signal_row_id"]


def test_the_last_signal_undecided_at_the_stop_is_pending(good_run_dir: Path) -> None:
    row_id = _drop_last_decision(good_run_dir)
    part = _part(good_run_dir)
    assert part["status"] == "pass", part["reason"]
    assert "1 pending after the broker stopped" in part["reason"] and row_id in part["reason"]


def test_the_same_gap_long_before_the_stop_fails(good_run_dir: Path) -> None:
    _drop_last_decision(good_run_dir)
    part = _part(good_run_dir, Thresholds(outbox_pending_wall_s=0.1))
    assert part["status"] == "fail", part["reason"]


def test_no_declared_only_strong_is_unknown(good_run_dir: Path) -> None:
    rewrite(good_run_dir, "source_manifest.json",
            lambda doc: doc["config_snapshot"].pop("broker"))
    assert _part(good_run_dir)["status"] == "unknown"


def test_only_strong_declared_makes_weak_decisions_ineligible(good_run_dir: Path) -> None:
    rewrite(good_run_dir, "source_manifest.json",
            lambda doc: doc["config_snapshot"].update(broker={"only_strong": True}))
    part = _part(good_run_dir)
    assert part["status"] == "fail" and "ineligible" in part["reason"], part["reason"]
