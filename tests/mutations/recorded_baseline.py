"""The catalogue's baseline: the failing cases tests/soak_checks/test_checks.py used to hold,
each now naming the sub-check(s) it fails. Cases whose item fails before any sub-check runs
(the evidence file missing or schema-invalid) stay there: they have no sub-check to name."""

from __future__ import annotations

from pathlib import Path

from tests.soak_checks.edits import (
    MAN,
    OBS,
    SRC,
    alert_edit,
    drop_sqlite_rows,
    fault_edit,
    in_file,
    rss_series,
    set_path,
    stall,
)
from tests.soak_checks.factory import MINUTES, STAGES, counter, ev, pid_view, wall, write_jsonl

from .catalogue import Mutation

REPORT_JSONL = "reports/jsonl/summary_20270115_080100.json"


def _r(name: str, apply, *fails: tuple[str, str], disguise: str = "wrong",
       hole: str | None = None) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=hole, apply=apply)


def _flapping_harvest(run_dir: Path) -> None:
    write_jsonl(run_dir / "observer/health.jsonl", [
        {"t_ms": wall(s), "market_s": s, "ok": True, **pid_view(s),
         "stages": {"harvest": s % 100 != 0, "signal": True, "broker": True, "report": True}}
        for s in range(0, 720, 10)])


def _reversed_exit_times(doc: dict) -> None:
    for entries in doc["pids"].values():
        for e in entries:
            e.update(exit_ms=wall(800) - e["exit_ms"] + wall(0))


def _pushed_long_ago(doc: dict) -> None:
    for g in doc["store"]["readback"]["groups"]:
        g["metrics"].update(push_time_seconds=[{"labels": {}, "value": str(wall(100) / 1000)}])


def _rss_under_reported(doc: dict) -> None:
    doc["resource_usage"].update(max_rss_mb=8.0, per_process={
        st: {"max_rss_mb": 8.0, "max_open_files": 4, "pids": [1]} for st in STAGES})


def _duplicate_ready_file(run_dir: Path) -> None:
    (run_dir / "outbox/ready/0002.jsonl").write_bytes(
        (run_dir / "outbox/ready/0001.jsonl").read_bytes())


def _foreign_aggtrade(run_dir: Path) -> None:
    write_jsonl(run_dir / "handoff/market/00000002.jsonl", [
        {"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "s": "BTCUSDT", "a": 9999}}])


MUTATIONS = [
    # D1 duration
    _r("the supervisor exits 1", in_file(OBS, set_path("pipeline.exit_code", 1)),
       ("D1", "graceful exit")),
    _r("the run ends at market minute 5", in_file(OBS, set_path(
        "market_clock.end_event_ms", ev(300))), ("D1", "market minutes")),
    _r("the pipeline needed a SIGKILL", in_file(OBS, set_path("pipeline.stop_signal",
                                                              "SIGKILL")),
       ("D1", "graceful exit")),
    _r("the pipeline stopped serving 2 minutes early", in_file(OBS, set_path(
        "pipeline.stop_sent_ms", wall(MINUTES * 60 + 120))), ("D1", "served until the stop")),
    # D2 health
    _r("harvest unhealthy every 100 s", _flapping_harvest, ("D2", "stage health")),
    # D3 alerts
    _r("low_consistency fires after every window", in_file(MAN, alert_edit(
        "low_consistency", "fired_at_ms", ev(700))),
       ("D3", "low_consistency"), ("D3", "in daily reports")),
    _r("data_drop never fires", in_file(MAN, lambda doc: doc["alerts"].pop()),
       ("D3", "data_drop")),
    _r("an alert no fault expects", in_file(OBS, fault_edit(
        "burst", "expects", {"alerts": [], "counters": [], "items": []})),
       ("D3", "no stray alerts")),
    # D4 time-series export
    _r("the manifest claims 3 exports", in_file(MAN, set_path(
        "timeseries_export.export_count", 3)), ("D4", "export_count"),
       hole="D4 store count"),
    _r("an export error long after the outage", in_file(MAN, set_path(
        "timeseries_export.failures", [wall(460), wall(700)])),
       ("D4", "errors outside outage")),
    _r("the store's BTC total is wrong", in_file(OBS, set_path(
        "store.readback.groups.-1.metrics.soak_total.0.value", "59")),
       ("D4", "store read-back")),
    _r("no gating_breakdown in the store", in_file(OBS, set_path(
        "store.readback.groups.-1.metrics.soak_gating_breakdown", [])),
       ("D4", "store read-back")),
    _r("one minute's total wrong in the store", in_file(OBS, set_path(
        "store.readback.groups.2.metrics.soak_per_minute_total.0.value", "1")),
       ("D4", "store read-back")),
    _r("the Pushgateway groups are stale", in_file(OBS, _pushed_long_ago),
       ("D4", "store read-back")),
    # D5 parity
    _r("the SQLite sink lost two rows", drop_sqlite_rows, ("D5", "parity figures"),
       ("D5", "parity_diff.json"), ("D5", "row_id sets")),
    _r("parity_diff.json claims a 0.01 % diff", in_file("parity_diff.json", set_path(
        "diff_pct.total", 0.01)), ("D5", "parity_diff.json"), disguise="declared"),
    # D6 manifest
    _r("harvester_metrics is null", in_file(MAN, set_path("harvester_metrics", None)),
       ("D6", "sections present"), disguise="absent"),
    # D7 harvester SLO
    _r("a drop in calm water", in_file(MAN, set_path("harvester_metrics.queue_dropped",
                                                     counter(wall(30)))),
       ("D7", "queue_dropped"), ("D7", "expected counter moved")),
    # the queue two thirds full in calm water (limit 25 % of queue_max 1000), nothing dropped
    _r("the queue runs near full in calm water", in_file(MAN, set_path(
        "harvester_metrics.queue_depth.buckets.0", [wall(10), 660, wall(10)])),
       ("D7", "queue depth peak")),
    _r("reconnects with no dropped connection", in_file(MAN, set_path(
        "harvester_metrics.reconnect_count", counter(*[wall(300 + s) for s in range(4)]))),
       ("D7", "reconnects seen by the feed")),
    _r("a sub-stream timeout nobody induced", in_file(MAN, set_path(
        "harvester_metrics.substream_timeout_detected", counter(wall(200)))),
       ("D7", "substream_timeout_detected")),
    _r("an induced stall goes unnoticed", stall(noticed_at_s=None),
       ("D7", "expected counter moved")),
    # D8 resources
    _r("the manifest reports 8 MB", in_file(MAN, _rss_under_reported), ("D8", "RSS agreement")),
    _r("the harness measured 700 MB", in_file(OBS, set_path("resources.max_rss_mb", 700.0)),
       ("D8", "harness RSS"), ("D8", "RSS agreement")),
    _r("the manifest over-reports RSS", in_file(MAN, set_path("resource_usage.max_rss_mb",
                                                              300.0)),
       ("D8", "RSS agreement")),
    _r("300 open files", in_file(MAN, set_path("resource_usage.max_open_files", 300)),
       ("D8", "manifest open files")),
    _r("broker leaks", in_file(OBS, rss_series(
        lambda: [[wall(s), 50.0 + s / 5] for s in range(0, 720, 10)])), ("D8", "leak")),
    # D9 fault injection
    _r("the killed stage never came back", in_file(OBS, set_path("restarts.0.new_pid", None)),
       ("D9", "restart")),
    _r("the restart took 20 s", in_file(OBS, set_path("restarts.0.restart_s", 20.0)),
       ("D9", "restart")),
    _r("restart_count hides the restart", in_file(MAN, set_path(
        "status.processes.1.restart_count", 0)), ("D9", "recorded"), disguise="declared"),
    _r("the backoff waited 3 s", in_file(MAN, set_path("restart_backoff_pattern",
                                                       {"signal": [3.0]})),
       ("D9", "backoff delays")),
    _r("the supervisor gave up on signal", in_file(MAN, set_path(
        "status.processes.1.gave_up", True)), ("D9", "backoff delays")),
    _r("signal lost one aggTrade", in_file(MAN, set_path(
        "signal_metrics.aggtrade_ids.BTCUSDT.count", 499)), ("D9", "no event lost")),
    _r("an aggTrade harvest never received", _foreign_aggtrade, ("D9", "no event lost")),
    # D10 graceful shutdown
    _r("the manifest records harvest stopping first", in_file(
        MAN, lambda doc: doc["shutdown_order"].reverse()), ("D10", "manifest order")),
    _r("the stages exited in reverse", in_file(OBS, _reversed_exit_times),
       ("D10", "observed order")),
    _r("an orphan outlived the supervisor", in_file(OBS, set_path(
        "shutdown.orphans", [{"pid": 9, "name": "python", "cmdline": ["python"]}])),
       ("D10", "orphans")),
    _r("broker was SIGKILLed at the stop", in_file(MAN, set_path(
        "shutdown_order.1.forced", True)), ("D10", "graceful stops")),
    _r("signal stopped with a pending batch", in_file("status/signal.json", set_path(
        "metrics", {"pending_batch": True})), ("D10", "residual queues")),
    _r("harvest stopped with 3 queued", in_file("status/harvest.json", set_path(
        "metrics", {"queue_len": 3, "queue_dropped": 0})), ("D10", "residual queues")),
    _r("a committed signal missing from the sinks", lambda d: write_jsonl(
        d / "handoff/signals/00000001.jsonl", [{"row_id": "lost-1"}]),
       ("D10", "nothing committed lost")),
    # D11 evidence bundle
    _r("no ws_region", in_file(SRC, set_path("ws_region", None)), ("D11", "source fields"),
       disguise="absent"),
    _r("the API key in the snapshot", in_file(SRC, set_path(
        "config_snapshot.secrets.binance_api_key", "abc123")), ("D11", "source fields")),
    _r("a report without its Markdown", lambda d: (
        d / "reports/sqlite/summary_20270115_080100.md").unlink(), ("D11", "daily report"),
       disguise="absent"),
    _r("the snapshot's report zone is UTC", in_file(SRC, set_path("config_snapshot.report.tz",
                                                                  "UTC")),
       ("D11", "source fields"), hole="D11 time zone"),
    _r("a report without runtime_state", in_file(REPORT_JSONL, set_path("runtime_state",
                                                                        None)),
       ("D11", "daily report"), disguise="absent"),
    # D12 execution outbox
    _r("a ready/ file published twice", _duplicate_ready_file, ("D12", "ready/ clean"),
       ("D12", "broker count")),
    _r("a stray .part in the spool", lambda d: (d / "outbox/spool/0003.part").write_text(
        "{}\n"), ("D12", "ready/ clean")),
    _r("the broker claims 3 orders", in_file(MAN, set_path("executor_metrics.orders", 3)),
       ("D12", "broker count")),
]
