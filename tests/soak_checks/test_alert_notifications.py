"""D3's "alert notifications" (checks/alert_notifications.py) over the hand-made good run with
the live alert path's evidence added: each induced rule notified firing then resolved within
the stated delays passes; a late resolution, a missing firing or a torn record does not; a
run without the alert path has no such part at all."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.checks.alert_notifications import NAME, NOTIFICATIONS
from pytest_soak.evidence_loader import RunEvidence

from .edits import OBS
from .factory import ALERTS, rewrite, wall

TIMING = {"scrape_interval_s": 1.0, "evaluation_interval_s": 2.0, "group_wait_s": 1.0,
          "group_interval_s": 1.0, "repeat_interval_s": 3600.0}


def notification(rule: str, status: str, at_ms: int) -> dict:
    return {"received_ms": at_ms, "status": status, "receiver": "harness", "group_key": rule,
            "alerts": [{"status": status, "labels": {"rule": rule, "alertname": "Soak"},
                        "annotations": {}, "starts_at": None, "ends_at": None,
                        "fingerprint": rule}]}


def with_alert_path(run: Path, lag_s: dict[tuple[str, str], float] | None = None,
                    drop: tuple[str, str] | None = None) -> Path:
    """The good run as if the alert path had run: every rule of ALERTS notified firing and
    resolved one wall second after the report stage (or `lag_s` seconds, or not at all)."""
    lag_s = lag_s or {}
    rewrite(run, OBS, lambda doc: doc.update(alert_path={
        "enabled": True, "reason": None, "error": None, "speed": 30.0, "timing": TIMING,
        "notifications_file": NOTIFICATIONS, "notifications": 2 * len(ALERTS)}))
    rows = [notification(rule, status, wall(at_s) + int(1000 * lag_s.get((rule, status), 1)))
            for rule, times in ALERTS.items()
            for status, at_s in zip(("firing", "resolved"), times, strict=True)
            if (rule, status) != drop]
    path = run / NOTIFICATIONS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in sorted(
        rows, key=lambda r: r["received_ms"])), encoding="utf-8")
    return run


def part(run: Path):  # noqa: ANN201 - the ItemResult of the sub-check, or None
    result = run_check("D3", RunEvidence.load(run, fresh=True), Thresholds())
    return result, next((p for p in result.parts if p.item == NAME), None)


def test_notifications_within_the_stated_delays_pass(good_run_dir: Path) -> None:
    result, mine = part(with_alert_path(good_run_dir))
    assert result.status == "pass", result.line()
    assert mine is not None and mine.status == "pass", mine
    assert mine.value["firing_lag_s"] <= mine.threshold["firing_lag_s"]


def test_a_resolution_notified_too_late_fails(good_run_dir: Path) -> None:
    result, mine = part(with_alert_path(good_run_dir, lag_s={("no_data", "resolved"): 60}))
    assert result.status == "fail" and mine.status == "fail", mine
    assert "no_data" in mine.reason and "resolved" in mine.reason


def test_a_rule_never_notified_firing_fails(good_run_dir: Path) -> None:
    _result, mine = part(with_alert_path(good_run_dir, drop=("export_failing", "firing")))
    assert mine.status == "fail" and "export_failing" in mine.reason, mine


def test_a_firing_notified_before_the_fault_could_cause_it_fails(good_run_dir: Path) -> None:
    # 10 wall s before the stage's alert at 30x is 5 market minutes: before the hold began
    _result, mine = part(with_alert_path(good_run_dir, lag_s={("data_drop", "firing"): -10}))
    assert mine.status == "fail" and "data_drop" in mine.reason, mine


def test_a_torn_notifications_file_is_unknown(good_run_dir: Path) -> None:
    run = with_alert_path(good_run_dir)
    with open(run / NOTIFICATIONS, "a", encoding="utf-8") as out:
        out.write('{"received_ms": 1, "sta')
    _result, mine = part(run)
    assert mine.status == "unknown", mine


def test_without_the_alert_path_the_sub_check_is_absent(good_run_dir: Path) -> None:
    result, mine = part(good_run_dir)
    assert result.status == "pass" and mine is None
