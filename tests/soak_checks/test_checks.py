"""Every DoD check shown to pass, to fail and to be unknown, over hand-made evidence.

The good run (factory.good_run) passes all twelve; each case below changes one thing a broken
pipeline (or a broken harness) would change and asserts the verdict of exactly that item.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_soak.checks import CHECKS, Thresholds, judge, run_check
from pytest_soak.evidence_loader import RunEvidence

from .edits import MAN, OBS, alert_edit, fault_edit, rss_series, stall
from .edits import set_path as _set
from .factory import SPEED, counter, rewrite, wall, write_jsonl


def verdict(good_run_dir: Path, item: str, t: Thresholds | None = None):
    return run_check(item, RunEvidence.load(good_run_dir, fresh=True), t or Thresholds())


def test_the_good_run_passes_every_item(good_run_dir: Path) -> None:
    results = judge(RunEvidence.load(good_run_dir, fresh=True), Thresholds())
    assert {k: r.status for k, r in results.items()} == {k: "pass" for k in CHECKS}, \
        "\n".join(r.line() for r in results.values() if not r.ok)


# (item, expected status, file, mutation)  -- file None: mutation takes good_run_dir.
# The failing cases are the catalogue's (tests/mutations/recorded_baseline.py), each naming
# the sub-checks it fails; the ones left here fail the whole item before any sub-check runs
# (its evidence missing or schema-invalid), or assert unknown / pass, which the catalogue
# does not.
CASES = [
    ("D1", "unknown", OBS, _set("market_clock.start_event_ms", None)),
    ("D1", "unknown", OBS, _set("interrupted", True)),
    ("D2", "unknown", None, lambda d: write_jsonl(d / "observer/health.jsonl", [])),
    ("D3", "fail", MAN, alert_edit("no_data", "resolved_at_ms", None)),
    ("D3", "fail", MAN, alert_edit("data_drop", "details", {"strong_ratio": 1.3})),
    # no fault expects data_drop: unknown while a fault tolerates the rule, a stray if none
    ("D3", "unknown", OBS, lambda doc: (
        fault_edit("burst", "expects", {"alerts": [], "counters": [], "items": []})(doc),
        fault_edit("burst", "tolerates", {"alerts": ["data_drop"], "counters": [],
                                          "health": [], "for_s": None})(doc))),
    ("D3", "unknown", OBS, fault_edit("pause", "effect_confirmed", False)),
    ("D4", "unknown", OBS, _set("store.readback", None)),
    ("D4", "unknown", OBS, _set("store.type", "none")),
    ("D5", "unknown", OBS, _set("sink", "jsonl")),
    ("D5", "fail", None, lambda d: (d / "parity_diff.json").unlink()),
    ("D6", "fail", MAN, lambda doc: doc.pop("shutdown_order")),
    ("D6", "fail", None, lambda d: (d / MAN).unlink()),
    # 9 reconnects inside the drop's window are excused: the feed saw them too (the two
    # dropped connections and 7 handshakes refused while it refused connections)
    ("D7", "pass", None, lambda d: (
        rewrite(d, MAN, _set("harvester_metrics.reconnect_count",
                             counter(*[wall(60) + s for s in range(9)]))),
        rewrite(d, OBS, _set("feed.stats.refused", [
            {"at_ms": wall(60) + 100 + s, "path": "/market/stream", "status": 503}
            for s in range(7)])))),
    ("D7", "unknown", MAN, _set("harvester_metrics.queue_dropped",
                                {"count": 3, "timestamps_ms": [], "spans": []})),
    ("D7", "pass", None, stall(noticed_at_s=660)),
    ("D7", "unknown", None, stall(noticed_at_s=None, confirmed=False)),
    ("D8", "pass", None, lambda d: (
        rewrite(d, OBS, lambda o: o["resources"].update(max_rss_mb=200.0,
                                                         max_rss_mb_before_stop=80.0)),
        rewrite(d, MAN, _set("resource_usage.max_rss_mb", 190.0)))),
    ("D8", "unknown", OBS, rss_series(lambda: [[wall(s), 50.0] for s in range(600, 720, 30)])),
    ("D8", "unknown", OBS, _set("resources.sample_count", 0)),
    ("D9", "unknown", OBS, lambda doc: doc.update(
        faults=[f for f in doc["faults"] if f["kind"] != "kill_stage"])),
    ("D9", "unknown", OBS, _set("restarts", [])),
    ("D9", "unknown", None, lambda d: shutil.rmtree(d / "handoff/market")),
    ("D10", "unknown", OBS, _set("pids.harvest.0.exit_ms", None)),
    ("D12", "unknown", None, lambda d: (d / "outbox/ready/0001.jsonl").unlink()),
]


@pytest.mark.parametrize(("item", "status", "rel", "mutate"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_each_check_fails_or_is_unknown_when_its_evidence_says_so(
        good_run_dir: Path, item: str, status: str, rel: str | None, mutate) -> None:
    if rel is None:
        mutate(good_run_dir)
    else:
        rewrite(good_run_dir, rel, mutate)
    result = verdict(good_run_dir, item)
    assert result.status == status, result.line()
    assert result.reason
    assert "crashed" not in result.reason and "strayed" not in result.reason


def test_every_item_has_a_failing_and_an_unknown_case() -> None:
    from tests.mutations.catalogue import all_mutations
    failing = {item for m in all_mutations() for item, _sub in m.fails}
    for item in CHECKS:
        statuses = {c[1] for c in CASES if c[0] == item}
        assert "fail" in statuses or item in failing, item
    assert {c[0] for c in CASES if c[1] == "unknown"} >= {"D1", "D2", "D3", "D4", "D5", "D7",
                                                         "D8", "D9", "D12"}


def test_a_schema_violation_fails_the_item_and_names_the_json_path(good_run_dir: Path) -> None:
    rewrite(good_run_dir, MAN, _set("resource_usage.max_rss_mb", "lots"))
    result = verdict(good_run_dir, "D8")
    assert result.status == "fail"
    assert "$.resource_usage.max_rss_mb" in result.reason
    assert "run_manifest.json" in result.reason


def test_broken_observations_make_every_harness_item_unknown(good_run_dir: Path) -> None:
    (good_run_dir / OBS).write_text("{not json", encoding="utf-8")
    for item in ("D1", "D2", "D3", "D4", "D7", "D8", "D9", "D10"):
        assert verdict(good_run_dir, item).status == "unknown", item


def test_thresholds_come_from_the_settings(good_run_dir: Path) -> None:
    strict = Thresholds.from_settings({"max_rss_mb": 50})
    assert verdict(good_run_dir, "D8", strict).status == "fail"
    assert Thresholds.from_settings(None) == Thresholds()


def test_a_check_that_crashes_is_unknown_never_pass(good_run_dir: Path, monkeypatch) -> None:
    def boom(run, t):
        raise KeyError("oops")
    monkeypatch.setitem(CHECKS, "D1", boom)
    result = verdict(good_run_dir, "D1")
    assert result.status == "unknown" and "crashed" in result.reason


def test_alert_times_in_iso_only_are_understood(good_run_dir: Path) -> None:
    doc = json.loads((good_run_dir / MAN).read_text())
    assert all("fired_at_ms" in a for a in doc["alerts"])


def test_an_influxdb_readback_is_compared_the_same_way(good_run_dir: Path) -> None:
    from .factory import E0, MINUTES, signal_rows
    rows = signal_rows()
    series = {"soak_run": [], "soak_gating_breakdown": [], "soak_per_minute": []}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        mine = [r for r in rows if r["symbol"] == symbol]
        strong = sum(1 for r in mine if r["strong"])
        series["soak_run"].append({"time": "2023-11-14T22:12:00Z", "symbol": symbol,
                                   "total": len(mine), "strong_ratio": strong / len(mine)})
        for reason in {r["gating"] for r in mine}:
            series["soak_gating_breakdown"].append({
                "time": "2023-11-14T22:12:00Z", "symbol": symbol, "reason": reason,
                "count": sum(1 for r in mine if r["gating"] == reason)})
        for minute in (E0 + k * 60_000 for k in range(MINUTES)):   # silent ones too
            series["soak_per_minute"].append({
                "time": minute, "symbol": symbol,
                "total": sum(1 for r in mine if r["ts_ms"] // 60_000 * 60_000 == minute)})

    def to_influx(doc):
        doc["store"] = {"type": "influxdb", "url": "http://127.0.0.1:1", "readback_error": None,
                        "readback": {"database": "soak", "series": series}}
    rewrite(good_run_dir, OBS, to_influx)
    assert verdict(good_run_dir, "D4").status == "pass", verdict(good_run_dir, "D4").line()
    series["soak_per_minute"][0]["total"] += 1
    rewrite(good_run_dir, OBS, to_influx)
    assert verdict(good_run_dir, "D4").status == "fail"


def test_a_stray_increment_is_placed_in_time_and_stream(good_run_dir: Path) -> None:
    """A D7 failure tells its reader when each stray fell (after which fault) and on which
    stream, so a failed CI run is diagnosable from its output alone."""
    def stray(doc):
        hm = doc["harvester_metrics"]
        hm["substream_timeout_detected"] = counter(wall(200), wall(210))
        hm["substream_timeouts_by_stream"] = {"btcusdt@bookTicker": 2}
    rewrite(good_run_dir, MAN, stray)
    result = verdict(good_run_dir, "D7")
    assert result.status == "fail"
    assert f"+{200 / SPEED:.1f} s" in result.reason and "btcusdt@bookTicker 2" in result.reason


def test_the_judge_cli_writes_dod_json_and_exits_by_failure_kind(good_run_dir: Path,
                                                                capsys) -> None:
    from pytest_soak.checks.judgement import main
    assert main([str(good_run_dir)]) == 0
    assert "verdict: pass" in capsys.readouterr().out
    rewrite(good_run_dir, OBS, _set("pipeline.exit_code", 3))
    assert main([str(good_run_dir)]) == 1
    rewrite(good_run_dir, OBS, _set("restarts", []))
    rewrite(good_run_dir, OBS, _set("pipeline.exit_code", 0))
    assert main([str(good_run_dir)]) == 2
    assert json.loads((good_run_dir / "dod.json").read_text())["failure_kind"] == "harness"
