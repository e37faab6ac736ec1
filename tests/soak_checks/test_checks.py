"""Every DoD check shown to pass, to fail and to be unknown, over hand-made evidence.

The good run (factory.good_run) passes all twelve; each case below changes one thing a broken
pipeline (or a broken harness) would change and asserts the verdict of exactly that item.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from pytest_soak.checks import CHECKS, Thresholds, judge, run_check
from pytest_soak.evidence_loader import RunEvidence

from .factory import MINUTES, SPEED, counter, ev, fault_record, rewrite, wall, write_jsonl

OBS, MAN, SRC = "harness_observations.json", "run_manifest.json", "source_manifest.json"


def verdict(good_run_dir: Path, item: str, t: Thresholds | None = None):
    return run_check(item, RunEvidence.load(good_run_dir, fresh=True), t or Thresholds())


def test_the_good_run_passes_every_item(good_run_dir: Path) -> None:
    results = judge(RunEvidence.load(good_run_dir, fresh=True), Thresholds())
    assert {k: r.status for k, r in results.items()} == {k: "pass" for k in CHECKS}, \
        "\n".join(r.line() for r in results.values() if not r.ok)


def _set(path: str, value):
    """A mutation setting doc[a][b]... = value for 'a.b...'."""
    def change(doc):
        *parents, last = path.split(".")
        cur = doc
        for p in parents:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        if isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return change


def _alert(rule: str, key: str, value):
    def change(doc):
        for a in doc["alerts"]:
            if a["rule"] == rule:
                a[key] = value
    return change


def _fault(fid: str, key: str, value):
    def change(doc):
        for f in doc["faults"]:
            if f["id"] == fid:
                f[key] = value
    return change


def _drop_sqlite_rows(good_run_dir: Path) -> None:
    conn = sqlite3.connect(good_run_dir / "sinks/signals.sqlite")
    conn.execute("DELETE FROM signals WHERE row_id IN ('r00003', 'r00077')")
    conn.commit()
    conn.close()


def _stall(noticed_at_s: int | None, confirmed: bool = True):
    """A stalled sub-stream induced at market 630-690 s; the pipeline noticed it at
    `noticed_at_s` (None: never)."""
    def change(good_run_dir: Path) -> None:
        rewrite(good_run_dir, OBS, lambda doc: doc["faults"].append(fault_record(
            "stall", "stall_substream", "ethusdt@aggTrade", 630, 690, {"sticky": True},
            confirmed)))
        if noticed_at_s is not None:
            rewrite(good_run_dir, MAN, _set("harvester_metrics.substream_timeout_detected",
                                       counter(wall(noticed_at_s))))
    return change


def _rss(series_fn):
    def change(doc):
        doc["resources"]["rss_series"]["broker"] = series_fn()
    return change


# (item, expected status, file, mutation)  -- file None: mutation takes good_run_dir
CASES = [
    ("D1", "fail", OBS, _set("pipeline.exit_code", 1)),
    ("D1", "fail", OBS, _set("market_clock.end_event_ms", ev(300))),
    ("D1", "fail", OBS, _set("pipeline.stop_signal", "SIGKILL")),
    ("D1", "unknown", OBS, _set("market_clock.start_event_ms", None)),
    ("D1", "fail", OBS, _set("pipeline.stop_sent_ms", wall(MINUTES * 60 + 120))),
    ("D1", "unknown", OBS, _set("interrupted", True)),
    ("D2", "fail", None, lambda d: write_jsonl(d / "observer/health.jsonl", [
        {"t_ms": wall(s), "market_s": s, "ok": True,
         "stages": {"harvest": s % 100 != 0, "signal": True, "broker": True, "report": True}}
        for s in range(0, 720, 10)])),
    ("D2", "unknown", None, lambda d: write_jsonl(d / "observer/health.jsonl", [])),
    ("D3", "fail", MAN, _alert("no_data", "resolved_at_ms", None)),
    ("D3", "fail", MAN, _alert("low_consistency", "fired_at_ms", ev(700))),
    ("D3", "fail", MAN, lambda doc: doc["alerts"].pop()),
    ("D3", "fail", MAN, _alert("data_drop", "details", {"strong_ratio": 1.3})),
    # no fault expects data_drop: unknown while a fault tolerates the rule, a stray if none
    ("D3", "unknown", OBS, lambda doc: (
        _fault("burst", "expects", {"alerts": [], "counters": [], "items": []})(doc),
        _fault("burst", "tolerates", {"alerts": ["data_drop"], "counters": [], "health": [],
                                      "for_s": None})(doc))),
    ("D3", "fail", OBS, _fault("burst", "expects", {"alerts": [], "counters": [],
                                                     "items": []})),
    ("D3", "unknown", OBS, _fault("pause", "effect_confirmed", False)),
    ("D4", "fail", MAN, _set("timeseries_export.export_count", 3)),
    ("D4", "fail", MAN, _set("timeseries_export.failures", [wall(460), wall(700)])),
    ("D4", "fail", OBS, _set("store.readback.groups.-1.metrics.soak_total.0.value", "59")),
    ("D4", "fail", OBS, _set("store.readback.groups.-1.metrics.soak_gating_breakdown", [])),
    ("D4", "fail", OBS, _set("store.readback.groups.3.metrics.soak_per_minute_total.0.value",
                             "1")),
    ("D4", "fail", OBS, lambda doc: [
        g["metrics"].update(push_time_seconds=[{"labels": {}, "value": str(wall(100) / 1000)}])
        for g in doc["store"]["readback"]["groups"]]),
    ("D4", "unknown", OBS, _set("store.readback", None)),
    ("D4", "unknown", OBS, _set("store.type", "none")),
    ("D5", "fail", None, _drop_sqlite_rows),
    ("D5", "fail", "parity_diff.json", _set("diff_pct.total", 0.01)),
    ("D5", "unknown", OBS, _set("sink", "jsonl")),
    ("D5", "fail", None, lambda d: (d / "parity_diff.json").unlink()),
    ("D6", "fail", MAN, lambda doc: doc.pop("shutdown_order")),
    ("D6", "fail", MAN, _set("harvester_metrics", None)),
    ("D6", "fail", None, lambda d: (d / MAN).unlink()),
    ("D7", "fail", MAN, _set("harvester_metrics.queue_dropped", counter(wall(30)))),
    ("D7", "fail", MAN, _set("harvester_metrics.reconnect_count",
                             counter(*[wall(300 + s) for s in range(4)]))),
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
    ("D7", "fail", MAN, _set("harvester_metrics.substream_timeout_detected",
                             counter(wall(200)))),
    ("D7", "pass", None, _stall(noticed_at_s=660)),
    ("D7", "fail", None, _stall(noticed_at_s=None)),          # an induced stall unnoticed
    ("D7", "unknown", None, _stall(noticed_at_s=None, confirmed=False)),
    ("D8", "fail", MAN, lambda doc: doc["resource_usage"].update(
        max_rss_mb=8.0, per_process={"signal": {"max_rss_mb": 8.0, "max_open_files": 4,
                                                "pids": [1]}})),
    ("D8", "fail", OBS, _set("resources.max_rss_mb", 700.0)),
    ("D8", "fail", MAN, _set("resource_usage.max_rss_mb", 300.0)),
    ("D8", "pass", None, lambda d: (
        rewrite(d, OBS, lambda o: o["resources"].update(max_rss_mb=200.0,
                                                         max_rss_mb_before_stop=80.0)),
        rewrite(d, MAN, _set("resource_usage.max_rss_mb", 190.0)))),
    ("D8", "fail", MAN, _set("resource_usage.max_open_files", 300)),
    ("D8", "fail", OBS, _rss(lambda: [[wall(s), 50.0 + s / 5] for s in range(0, 720, 10)])),
    ("D8", "unknown", OBS, _rss(lambda: [[wall(s), 50.0] for s in range(600, 720, 30)])),
    ("D8", "unknown", OBS, _set("resources.sample_count", 0)),
    ("D9", "fail", OBS, _set("restarts.0.new_pid", None)),
    ("D9", "fail", OBS, _set("restarts.0.restart_s", 20.0)),
    ("D9", "fail", MAN, _set("status.processes.1.restart_count", 0)),
    ("D9", "fail", MAN, _set("restart_backoff_pattern", {"signal": [3.0]})),
    ("D9", "fail", MAN, _set("status.processes.1.gave_up", True)),
    ("D9", "fail", MAN, _set("signal_metrics.aggtrade_ids.BTCUSDT.count", 499)),
    ("D9", "unknown", OBS, lambda doc: doc.update(
        faults=[f for f in doc["faults"] if f["kind"] != "kill_stage"])),
    ("D9", "unknown", OBS, _set("restarts", [])),
    ("D9", "unknown", None, lambda d: shutil.rmtree(d / "handoff/market")),
    ("D9", "fail", None, lambda d: write_jsonl(d / "handoff/market/00000002.jsonl", [
        {"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "s": "BTCUSDT", "a": 9999}}])),
    ("D10", "fail", MAN, lambda doc: doc["shutdown_order"].reverse()),
    ("D10", "fail", OBS, lambda doc: [e.update(exit_ms=wall(800) - e["exit_ms"] + wall(0))
                                      for entries in doc["pids"].values() for e in entries]),
    ("D10", "unknown", OBS, _set("pids.harvest.0.exit_ms", None)),
    ("D10", "fail", OBS, _set("shutdown.orphans", [{"pid": 9, "name": "python",
                                                   "cmdline": ["python"]}])),
    ("D10", "fail", MAN, _set("shutdown_order.1.forced", True)),
    ("D10", "fail", "status/signal.json", _set("metrics", {"pending_batch": True})),
    ("D10", "fail", "status/harvest.json", _set("metrics", {"queue_len": 3, "queue_dropped": 0})),
    ("D10", "fail", None, lambda d: write_jsonl(d / "handoff/signals/00000001.jsonl",
                                                [{"row_id": "lost-1"}])),
    ("D11", "fail", SRC, _set("ws_region", None)),
    ("D11", "fail", SRC, _set("config_snapshot.secrets.binance_api_key", "abc123")),
    ("D11", "fail", None, lambda d: (d / "reports/sqlite/summary_20270115_080100.md").unlink()),
    ("D11", "fail", SRC, _set("config_snapshot.report.tz", "UTC")),
    ("D11", "fail", "reports/jsonl/summary_20270115_080100.json", _set("runtime_state", None)),
    ("D12", "fail", None, lambda d: (d / "outbox/ready/0002.jsonl").write_bytes(
        (d / "outbox/ready/0001.jsonl").read_bytes())),
    ("D12", "fail", None, lambda d: (d / "outbox/spool/0003.part").write_text("{}\n")),
    ("D12", "fail", MAN, _set("executor_metrics.orders", 3)),
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
    for item in CHECKS:
        statuses = {c[1] for c in CASES if c[0] == item}
        assert "fail" in statuses, item
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
    from .factory import signal_rows
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
        for minute in sorted({r["ts_ms"] // 60_000 * 60_000 for r in mine}):
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
