"""D3's promtool cross-check on the good run: the real promtool over the harness's rebuilt
inputs; alerts moved, dropped or without promtool; the rebuilt baseline and queue_dropped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.checks.alert_crosscheck import NAME, TEST_FILE
from pytest_soak.checks.alert_windows import declared_report
from pytest_soak.checks.promtool_series import collapse_baseline, rebuild
from pytest_soak.evidence_loader import RunEvidence

from .factory import alert, counter, rewrite, wall

MAN = "run_manifest.json"
REPORTS = [f"reports/{sink}/summary_20270115_080100.json" for sink in ("jsonl", "sqlite")]
BASELINE = {"fraction": 0.5, "baseline_minutes": 5, "min_baseline_minutes": 3,
            "min_signals": 20, "min_baseline_ratio": 0.05}


def _crosscheck(run_dir: Path):
    result = run_check("D3", RunEvidence.load(run_dir, fresh=True), Thresholds())
    return next(p for p in result.parts if p.item == NAME)


def _retime(run_dir: Path, rule: str, fired_s: float | None, resolved_s: float | None) -> None:
    def change(doc: dict) -> None:
        doc["alerts"] = [a for a in doc["alerts"] if a["rule"] != rule]
        if fired_s is not None:
            doc["alerts"].append(alert(rule, fired_s, resolved_s))
    for rel in (MAN, *REPORTS):
        rewrite(run_dir, rel, change)


def test_the_good_run_agrees_and_its_attached_test_reruns_clean(good_run_dir: Path) -> None:
    part = _crosscheck(good_run_dir)
    assert part.status == "pass", part.line()
    assert TEST_FILE in part.evidence
    rerun = subprocess.run(["promtool", "test", "rules", Path(TEST_FILE).name],
                           cwd=(good_run_dir / TEST_FILE).parent, capture_output=True,
                           text=True, timeout=60)
    # exact agreement, every minute: the factory's alerts are what the engine writes
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr


def test_an_alert_one_step_late_is_tolerated_two_steps_fail_naming_both_values(
        good_run_dir: Path) -> None:
    _retime(good_run_dir, "no_data", 360, 420)
    assert _crosscheck(good_run_dir).status == "pass"
    _retime(good_run_dir, "no_data", 420, 480)
    part = _crosscheck(good_run_dir)
    assert part.status == "fail", part.line()
    assert "no_data: the engine fired at 2023-11-14T22:20:00Z" in part.reason, part.reason
    assert "no_data: Prometheus fired at 2023-11-14T22:18:00Z" in part.reason
    assert "engine: no alert, harness: total 0" in part.reason


def test_a_rule_prometheus_fires_and_the_engine_does_not_fails(good_run_dir: Path) -> None:
    _retime(good_run_dir, "strong_ratio_collapse", None, None)
    part = _crosscheck(good_run_dir)
    assert part.status == "fail" and part.value == 1, part.line()
    assert "strong_ratio_collapse: Prometheus fired at 2023-11-14T22:20:00Z" in part.reason
    assert "strong_ratio 0.0000 (total 20), baseline median 0.1500 of 3 min" in part.reason


def test_without_promtool_the_crosscheck_is_unknown_never_pass(
        good_run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the harness's interpreter stays reachable; promtool is not on this PATH
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    assert shutil.which("promtool") is None
    part = _crosscheck(good_run_dir)
    assert part.status == "unknown" and "promtool is not installed" in part.reason
    assert (good_run_dir / TEST_FILE).exists()       # still attached, to run elsewhere


def test_the_rebuilt_baseline_leaves_out_collapsed_and_thin_minutes() -> None:
    # (total, strong, low): three 0.2 minutes, a thin one, a collapsed one, then 0.4
    sums = [(30, 6, 0), (30, 6, 0), (30, 6, 0), (5, 0, 0), (30, 0, 0), (30, 12, 0)]
    got = collapse_baseline(sums, BASELINE)
    assert got == [(0.0, 0), (0.2, 1), (0.2, 2), (0.2, 3), (0.2, 3), (0.2, 3)]


def _queue_dropped(run_dir: Path) -> list[int]:
    run = RunEvidence.load(run_dir, fresh=True)
    report, _ = declared_report(run)
    return rebuild(run, report).queue_dropped


def test_queue_dropped_is_placed_by_the_harness_market_clock(good_run_dir: Path) -> None:
    # the burst's drop at 600 s precedes minute 9's close (600 + lateness 10 s) ...
    assert _queue_dropped(good_run_dir) == [0] * 9 + [1, 1]
    # ... one at 615 s is read only when minute 10 closes; times are the counter's (wall)
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].update(
        queue_dropped=counter(wall(615))))
    assert _queue_dropped(good_run_dir) == [0] * 10 + [1]
