"""A hand-made run directory whose evidence passes every DoD check, for unit tests of the checks.

`good_run(tmp_path)` writes a complete, schema-valid run folder of a short 12-market-minute
soak (observations, manifests, sinks, handoff, outbox, status files, daily reports) in which
every fault had its effect and the pipeline behaved. A test mutates one document with
`rewrite(run_dir, file, fn)` and shows the matching check fail or become unknown.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_soak.fault_kinds import KINDS
from pytest_soak_evidence.atomic import write_json_atomic
from pytest_soak_evidence.parity import write_parity

MINUTES = 12
SPEED = 30.0
E0 = 28_333_333 * 60_000          # event time of market second 0 (minute-aligned)
W0 = 1_800_000_000_000            # wall time of market second 0
STAGES = ("harvest", "signal", "broker", "report")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
PIDS = {"harvest": 1001, "signal": 1002, "broker": 1003, "report": 1004}
NEW_SIGNAL_PID = 2002
# D9's backoff: signal is killed three times (market s); the second kill comes inside the
# declared stable period (STABLE_S wall s, as the reference soak config's "{150/speed}" at
# 30x), the third after it: delays 0.2, 0.4 (factor), 0.2 (reset). pid -> its successor.
# (The second kill's reconnect toleration, 90 s, ends before the pause's reconnects at 280 s.)
KILLS = ((180, PIDS["signal"], 2000, 0.2), (189.5, 2000, 2001, 0.4),
         (435, 2001, NEW_SIGNAL_PID, 0.2))
STABLE_S = 5.0
REDACTED = "***REDACTED***"


REPORT_TZ = "Asia/Tokyo"          # the zone the harness set (observations.report_tz)


def iso(ms: int) -> str:
    """ms as ISO-8601 in REPORT_TZ, as the report stage writes its times."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(REPORT_TZ)).isoformat(
        timespec="milliseconds")


def ev(s: float) -> int:
    """Event ms of market second s."""
    return int(E0 + s * 1000)


def wall(s: float) -> int:
    """Wall ms of market second s."""
    return int(W0 + s / SPEED * 1000)


# (id, kind, target, start_s, end_s, params); expects/tolerates are the kinds' defaults
FAULTS = [
    ("drop", "drop_connections", None, 60, 60, {}),
    ("choppy", "regime", None, 90, 150, {"regime": "choppy"}),
    ("kill", "kill_stage", "signal", 180, 180, {}),
    ("kill-again", "kill_stage", "signal", 189.5, 189.5, {}),
    ("kill-late", "kill_stage", "signal", 435, 435, {}),
    ("pause", "pause_feed", None, 210, 330, {}),
    ("quiet", "regime", None, 360, 420, {"regime": "quiet"}),
    ("store", "store_down", None, 450, 570, {}),
    ("burst", "burst", None, 600, 600, {"factor": 50}),
]
# rule -> (fired s, resolved s) in market seconds: minute ends, each after its rule's
# hold_minutes (RULE_MINUTES) inside the window that induces it (checks/alert_windows.py)
ALERTS = {"low_consistency": (120, 240), "no_data": (300, 360),
          "strong_ratio_collapse": (420, 480), "export_failing": (600, 660),
          "data_drop": (600, 660)}
# rule -> (hold_minutes, resolve_minutes), as config/defaults.yaml declares them
RULE_MINUTES = {"no_data": (2, 1), "low_consistency": (1, 2), "strong_ratio_collapse": (2, 1),
                "export_failing": (3, 1), "data_drop": (1, 1)}


# What each market minute's signals look like: the shipped Prometheus rules and the engine
# (D3's promtool cross-check) must both produce exactly ALERTS from them. 20 signals a minute
# (the collapse rule's min_signals), strong 1 in 6, low_consistency 5 in 20 (0.25) unless:
# minute 1 choppy (18 in 20: 0.9 > 0.8 fires at 120 s); 3 and 4 silent (no_data at 300 s);
# 5 and 6 without a strong signal (collapse against a ~0.17 baseline at 420 s); minute 8
# between the thresholds (15 in 20: 0.75, above 70 %, not above 80 %: fires only for an engine
# whose low_consistency threshold is wrong).
ROWS_PER_MINUTE = 20
MINUTE_KIND = {1: "choppy", 3: "silent", 4: "silent", 5: "collapsed", 6: "collapsed", 8: "between"}
LOW_OF_KIND = {"choppy": 18, "between": 15}


def _gating(kind: str, i: int) -> str:
    low = i < LOW_OF_KIND[kind] if kind in LOW_OF_KIND else i % 4 == 0
    return "low_consistency" if low else "ok"


def signal_rows() -> list[dict]:
    rows = []
    for minute in range(MINUTES):
        kind = MINUTE_KIND.get(minute, "normal")
        if kind == "silent":
            continue
        for i in range(ROWS_PER_MINUTE):
            n = len(rows)
            rows.append({"row_id": f"r{n:05d}", "ts_ms": E0 + minute * 60_000 + i * 1000,
                         "symbol": SYMBOLS[n % 2], "confirm": n % 3 == 0,
                         "strong": kind != "collapsed" and n % 6 == 0,
                         "gating": _gating(kind, i)})
    return rows


def fault_record(fid: str, kind: str, target: str | None, s: float, e: float,
                 params: dict, confirmed: bool = True) -> dict:
    """A fault as the history records it, expects/tolerates from its kind (the registry)."""
    spec = KINDS[kind]
    return {"id": fid, "kind": kind, "target": target, "params": params,
            "planned_start_s": s, "planned_end_s": e, "started_ms": wall(s),
            "ended_ms": wall(e), "start_event_ms": ev(s), "end_event_ms": ev(e),
            "effect_confirmed": confirmed, "effect": {}, "clock": spec.clock,
            "applied_by": spec.applied_by,
            "expects": spec.default_expects(target, params).as_dict(),
            "tolerates": spec.default_tolerates(target, params).as_dict(), "error": None}


def observations() -> dict:
    faults = [fault_record(*f) for f in FAULTS]
    series = {st: [[wall(s), 80.0 + (s % 20) * 0.01] for s in range(0, MINUTES * 60, 10)]
              for st in STAGES}
    return {
        "schema_version": 1, "run_id": "unit-run", "mode": "replay", "speed": SPEED,
        "minutes": MINUTES, "sink": "dual", "seed": 7, "schedule_file": None,
        "report_tz": REPORT_TZ,
        "interrupted": False, "interrupt_reason": None,
        "pipeline": {"command": ["python", "-m", "orchestrator.run"], "health_url": "http://x",
                     "run_dir": ".", "supervisor_pid": 1000, "exit_code": 0,
                     "started_ms": wall(-30), "healthy_ms": wall(-10),
                     "stop_sent_ms": wall(MINUTES * 60), "stopped_ms": wall(MINUTES * 60 + 60),
                     "stop_signal": "SIGINT", "duration_s": 30.0},
        "market_clock": {"start_event_ms": ev(0), "end_event_ms": ev(MINUTES * 60),
                         "start_wall_ms": W0, "elapsed_market_s": MINUTES * 60.0},
        "health": {"interval_s": 10, "samples_file": "observer/health.jsonl",
                   "polls": MINUTES * 6, "per_stage": {}},
        "resources": {"samples_file": "observer/resources.jsonl", "sample_count": 72,
                      "max_rss_mb": 80.2, "max_open_files": 40, "max_tree_rss_mb": 330.0,
                      "per_process": {st: {"max_rss_mb": 80.2, "max_open_files": 40}
                                      for st in STAGES},
                      "rss_series": series},
        "pids": observed_pids(),
        "faults": faults,
        "restarts": restarts(),
        "shutdown": {"signal": "SIGINT", "sent_ms": wall(MINUTES * 60),
                     "exits": [{"stage": st, "pid": PIDS[st], "exit_ms": wall(720) + i * 100}
                               for i, st in enumerate(("report", "broker", "signal", "harvest"))],
                     "observed_order": ["report", "broker", "signal", "harvest"],
                     "orphans": [], "sweep_error": None},
        "store": {"type": "prometheus", "url": "http://127.0.0.1:1",
                  "readback": None, "readback_error": None},
        "feed": {"ws_url": "ws://127.0.0.1:2", "rest_url": "http://127.0.0.1:3",
                 "control_url": "http://127.0.0.1:3", "stats": feed_stats(),
                 "stats_error": None},
        "errors": [],
    }


def started(pid: int) -> int:
    """The psutil start of a signal pid: the run's start, or its kill's delay + 50 ms."""
    return next((wall(s) + int(d * 1000) + 50 for s, _, new, d in KILLS if new == pid),
                wall(-30))


def restarts() -> list[dict]:
    fids = [f[0] for f in FAULTS if f[1] == "kill_stage"]
    return [{"stage": "signal", "fault_id": fid, "killed_ms": wall(s), "old_pid": old,
             "old_pid_started_ms": started(old), "new_pid": new,
             "new_pid_started_ms": started(new), "new_pid_seen_ms": started(new) + 100,
             "healthy_again_ms": wall(s) + 1500, "healthy_again_pid": new, "restart_s": 1.5}
            for fid, (s, old, new, _) in zip(fids, KILLS, strict=True)]


def health_polls() -> list[dict]:
    polls = []
    for s in range(0, MINUTES * 60, 10):
        stages = {st: not (st == "signal" and _restarting(s)) for st in STAGES}
        polls.append({"t_ms": wall(s), "market_s": s, "ok": True, "http_status": 200,
                      "stages": stages, **pid_view(s), "in_fault": []})
    return polls


def _restarting(s: float) -> bool:
    """signal is being restarted at market second s: a poll within 10 s after a kill."""
    return any(k <= s < k + 10 for k, *_ in KILLS)


def pid_view(s: float) -> dict:
    """A poll's pids at market second s: the body's and what the harness saw (psutil); while
    signal is being restarted after a kill the body names no pid for it and none is live."""
    signal = PIDS["signal"]
    for k, _old, new, _delay in KILLS:
        signal = new if s >= k else signal
    pids = {st: signal if st == "signal" else PIDS[st] for st in STAGES}
    if _restarting(s):
        del pids["signal"]
    return {"pids": pids, "live_pids": {st: [pid] for st, pid in pids.items()},
            "pid_check": {st: "ok" if st in pids else "the body names no pid" for st in STAGES}}


def process(stage: str) -> dict:
    killed = stage == "signal"
    return {"name": stage, "pid": NEW_SIGNAL_PID if killed else PIDS[stage],
            "pids": [PIDS[stage]] + [k[2] for k in KILLS] if killed else [PIDS[stage]],
            "alive": False, "ready": False, "restart_count": len(KILLS) if killed else 0,
            "gave_up": False, "backoff_delays_s": [k[3] for k in KILLS] if killed else [],
            "exits": [], "restarts": []}


def run_manifest(rows: list[dict]) -> dict:
    ids = {"BTCUSDT": {"first": 1, "last": 500, "count": 500},
           "ETHUSDT": {"first": 7, "last": 306, "count": 300}}
    order = [{"stage": st, "pid": PIDS[st], "requested_ms": wall(720) + i * 100,
              "stopped_ms": wall(720) + i * 100 + 50, "was_running": True, "forced": False,
              "exit_code": 0, "signal": None}
             for i, st in enumerate(("report", "broker", "signal", "harvest"))]
    return {
        "schema_version": 1, "run_id": "unit-run", "state": "stopped", "started_ms": wall(-30),
        "ended_ms": wall(740), "mode": "replay", "replay_mode": True, "sink": "dual",
        "enabled": list(STAGES),
        "duration": {"requested_minutes": MINUTES, "wall_s": 30.0, "market_s": 720.0,
                     "stop_reason": "SIGINT"},
        "exit_code": 0, "status": {"processes": [process(st) for st in STAGES]},
        "restart_policy": {"initial_delay_s": 0.2, "factor": 2.0, "max_delay_s": 10,
                           "stable_after_s": STABLE_S, "max_restarts": 5, "window_s": 120},
        "restart_backoff_pattern": {"signal": [k[3] for k in KILLS]},
        "resource_usage": {"max_rss_mb": 81.0, "max_open_files": 41,
                           "per_process": {st: {"max_rss_mb": 81.0, "max_open_files": 41,
                                                "pids": [PIDS[st]]} for st in STAGES},
                           "sample_interval_s": 2, "sample_count": 20,
                           "samples_file": "resources.jsonl", "open_files_measure": "num_fds"},
        "shutdown_order_configured": ["report", "broker", "signal", "harvest"],
        "shutdown_order": order,
        "post_run": {"finalize": {"report": {"ran": True}}, "parity": {"ran": True}},
        "harvester_metrics": harvester_metrics(ids),
        "signal_metrics": signal_metrics(ids, rows),
        "executor_metrics": executor_metrics(broker_events(rows)),
        "timeseries_export": {"type": "prometheus", "url": "http://127.0.0.1:1",
                              "export_count": MINUTES, "error_count": 2, "last_error": "refused",
                              "failures": [wall(460), wall(500)]},
        "alerts": [alert(rule, f, r) for rule, (f, r) in ALERTS.items()],
    }


def alert(rule: str, fired_s: float, resolved_s: float | None) -> dict:
    level = "critical" if rule == "no_data" else "warning"
    return {"rule": rule, "level": level, "state": "resolved" if resolved_s else "firing",
            "fired_at": iso(ev(fired_s)), "fired_at_ms": ev(fired_s),
            "resolved_at": iso(ev(resolved_s)) if resolved_s else None,
            "resolved_at_ms": ev(resolved_s) if resolved_s else None,
            "details": {"minute_ms": ev(fired_s), "share": 0.9}}


def source_manifest() -> dict:
    return {"schema_version": 1, "run_id": "unit-run", "session_start": "2027-01-15T08:00:00Z",
            "session_end": "2027-01-15T08:01:00Z", "session_start_ms": wall(-30),
            "session_end_ms": wall(740), "symbols": list(SYMBOLS),
            "ws_endpoint": "ws://127.0.0.1:2/stream", "ws_region": "loopback",
            "input_mode": "replay_feed", "replay_mode": True, "sink": "dual",
            "enabled": list(STAGES),
            "config_snapshot": {"report": {"tz": "Asia/Tokyo"},
                                "broker": {"only_strong": False},
                                "supervisor": {"tick_s": 0.05,
                                               "restart": {"initial_delay_s": 0.2,
                                                           "factor": 2.0, "max_delay_s": 10,
                                                           "stable_after_s": STABLE_S,
                                                           "max_restarts": 5,
                                                           "window_s": 120}},
                                "secrets": {"binance_api_key": REDACTED,
                                            "binance_api_secret": None}}}


def outbox_event(n: int, row_id: str) -> dict:
    return {"ts_ms": E0 + n, "symbol": "BTCUSDT", "event": "submit", "status": "submitted",
            "reason": None, "signal_row_id": row_id, "client_order_id": f"c{n}", "side": "buy",
            "qty": 0.01, "px_intent": 100.0, "px_sent": 100.0, "px_fill": None,
            "sent_ts_ms": E0 + n, "ack_ts_ms": E0 + n + 5, "fill_ts_ms": None,
            "event_ts_ms": E0 + n, "exchange_order_id": None, "latency_ms": 5.0,
            "slippage_bps": None, "rounding_diff": 0.0, "warmup": False, "guard_reason": None,
            "consistency": 0.9, "scenario": "paper", "regime": "normal", "fill_qty": None,
            "fee": None, "liquidity": None}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_sqlite(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE signals (row_id TEXT PRIMARY KEY, ts_ms INTEGER, symbol TEXT, "
                 "confirm INTEGER, strong INTEGER, gating TEXT)")
    conn.executemany("INSERT INTO signals VALUES (?,?,?,?,?,?)",
                     [(r["row_id"], r["ts_ms"], r["symbol"], int(r["confirm"]),
                       int(r["strong"]), r["gating"]) for r in rows])
    conn.commit()
    conn.close()


def readback(rows: list[dict]) -> dict:
    """What the harness reads back from a Pushgateway the report stage pushed these rows to."""
    from pytest_soak.checks.aggregates import per_symbol
    pushed = [{"labels": {}, "value": str(wall(MINUTES * 60) / 1000 - 1)}]

    def family(values: list[tuple[dict, float]]) -> list[dict]:
        return [{"labels": lab, "value": str(v)} for lab, v in values]

    groups = []
    for minute in (E0 + k * 60_000 for k in range(MINUTES)):   # silent minutes are pushed too
        per = per_symbol([r for r in rows if r["ts_ms"] // 60_000 * 60_000 == minute])
        groups.append({"labels": {"job": "soak_report", "run_id": "unit-run",
                                  "minute": str(minute)},
                       "metrics": {"soak_per_minute_total": family(
                           [({"symbol": s}, a["total"]) for s, a in per.items()]),
                           "push_time_seconds": pushed}})
    per = per_symbol(rows)
    groups.append({"labels": {"job": "soak_report", "run_id": "unit-run", "instance": "run"},
                   "metrics": {
                       "soak_total": family([({"symbol": s}, a["total"]) for s, a in per.items()]),
                       "soak_strong_ratio": family([({"symbol": s}, a["strong_ratio"])
                                                    for s, a in per.items()]),
                       "soak_gating_breakdown": family(
                           [({"symbol": s, "reason": r}, n) for s, a in per.items()
                            for r, n in a["gating_breakdown"].items()]),
                       "push_time_seconds": pushed}})
    return {"groups": groups}


def good_run(root: Path) -> Path:
    run = root / "run"
    rows = signal_rows()
    obs = observations()
    obs["store"]["readback"] = readback(rows)
    obs["pipeline"]["run_dir"] = str(run)
    manifest = run_manifest(rows)
    write_json_atomic(run / "run_manifest.json", manifest, durable=False)
    write_json_atomic(run / "source_manifest.json", source_manifest(), durable=False)
    write_jsonl(run / "observer/health.jsonl", health_polls())
    write_jsonl(run / "sinks/signals.jsonl", rows)
    write_sqlite(run / "sinks/signals.sqlite", rows)
    write_jsonl(run / "handoff/signals/00000000.jsonl", rows)
    write_jsonl(run / "handoff/market/00000001.jsonl", market_records())
    write_jsonl(run / "outbox/ready/0001.jsonl", broker_events(rows))
    obs["ready_watch"] = ready_watch(run)
    (run / "outbox/spool").mkdir(parents=True)
    write_json_atomic(run / "harness_observations.json", obs, durable=False)
    for st in STAGES:
        write_json_atomic(run / f"status/{st}.json", {"stage": st, "state": "stopped",
                                                      "metrics": {"queue_depth": 0}},
                          durable=False)
    for sink in ("jsonl", "sqlite"):
        report = daily_report(sink, rows, manifest)
        write_json_atomic(run / f"reports/{sink}/summary_20270115_080100.json", report,
                          durable=False)
        (run / f"reports/{sink}/summary_20270115_080100.md").write_text("# report\n")
    write_parity(run)
    write_pipeline_config(run)
    write_model(run, obs, rows)
    return run


MODEL_MEMORY_S = {"burst": 30}


def write_model(run: Path, obs: dict, rows: list[dict]) -> None:
    """The run's fault-free model (D13): the same signals, its feed faults alone."""
    feed = [f for f in obs["faults"] if f["applied_by"] == "feed"]
    model_obs = {**obs, "run_id": "unit-model", "faults": feed, "restarts": []}
    write_jsonl(run / "model/sinks/signals.jsonl", rows)
    write_json_atomic(run / "model/harness_observations.json", model_obs, durable=False)
    write_json_atomic(run / "model.json", {
        "schema_version": 1, "key": "unit", "run_dir": "model", "cached": True,
        "faults": [f["id"] for f in feed], "memory_s": MODEL_MEMORY_S}, durable=False)


def write_pipeline_config(run: Path) -> None:
    """The report's part of the config the harness hands the pipeline (D3 reads its rules):
    the reference's rule settings (config/defaults.yaml), with RULE_MINUTES' durations."""
    import yaml
    defaults = yaml.safe_load((Path(__file__).resolve().parents[2] / "config/defaults.yaml")
                              .read_text(encoding="utf-8"))["report"]["alerts"]
    alerts = {rule: {**defaults[rule], "hold_minutes": h, "resolve_minutes": r}
              for rule, (h, r) in RULE_MINUTES.items()}
    config = {"report": {"tz": "Asia/Tokyo", "lateness_s": 10, "status_poll_s": 0.2,
                         "alerts": alerts}}
    (run / "harness").mkdir(parents=True, exist_ok=True)
    (run / "harness/pipeline_config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def rewrite(run: Path, rel: str, change: Callable[[Any], Any]) -> None:
    """Load a JSON evidence file, let `change` mutate it in place, save it."""
    path = run / rel
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    write_json_atomic(path, doc, durable=False)


def signal_metrics(ids: dict, rows: list[dict]) -> dict:
    counters = {"rows_written": len(rows), "duplicates_skipped": 0, "torn_lines": 0,
                "lock_retries": 0, "errors": 0}
    return {"sink": "dual", "aggtrade_ids": ids,
            "events_in": {"aggTrade": 800, "bookTicker": 100, "depthUpdate": 100},
            "malformed_count": 0, "replayed_skipped": 0, "signals_emitted": len(rows),
            "rows_written": len(rows), "duplicates_skipped": 0, "torn_lines": 0,
            "sink_errors": 0, "restarts": len(KILLS), "gating_counts": {"ok": len(rows)},
            "sinks": {"jsonl": counters, "sqlite": dict(counters)},
            "runtime_state_path": "runtime_state.json"}


def _tally(rows: list[dict]) -> dict:
    from collections import Counter
    strong = sum(1 for r in rows if r["strong"])
    return {"total": len(rows), "confirm": sum(1 for r in rows if r["confirm"]),
            "strong": strong, "strong_ratio": strong / len(rows) if rows else 0.0,
            "low_consistency_share": 0.25,
            "gating_breakdown": dict(Counter(r["gating"] for r in rows))}


def daily_report(sink: str, rows: list[dict], manifest: dict) -> dict:
    return {"schema_version": 1, "run_id": "unit-run", "sink": sink, "tz": "Asia/Tokyo",
            "generated_at": iso(wall(760)), "generated_at_ms": wall(760),
            "sink_read": {"path": f"sinks/signals.{sink}", "rows": len(rows), "torn": 0,
                          "error": None},
            "totals": {**_tally(rows), "by_symbol": {}},
            "window": {"first_ts_ms": rows[0]["ts_ms"], "last_ts_ms": rows[-1]["ts_ms"],
                       "first_ts": None, "last_ts": None, "minutes": MINUTES},
            "per_minute": [], "runtime_state": {"mode": "replay"},
            "alerts": manifest["alerts"],
            "harvester_slo": {"queue_dropped": 1, "reconnect_count": 2,
                              "substream_timeout_detected": False, "checks": {},
                              "verdict": "pass"},
            "export": manifest["timeseries_export"], "resource_usage": None,
            "restarts": {"signal": len(KILLS)}}


def executor_metrics(events: list[dict]) -> dict:
    n = {kind: sum(1 for e in events if e["event"] == kind) for kind in ("submit", "fill",
                                                                         "reject")}
    return {"executor_submit_total": n["submit"], "executor_throttle_total": 0,
            "executor_latency_ms": {"count": n["fill"], "mean_ms": 5.0, "p50_ms": 5.0,
                                    "p99_ms": 5.0, "max_ms": 5.0},
            "orders": n["submit"], "fills": n["fill"], "rejects": n["reject"],
            "outbox": {"appended_events": len(events), "published_files": 1,
                       "published_events": len(events), "recovered_files": 0,
                       "recovered_events": 0, "torn_lines_dropped": 0}}


def broker_events(rows: list[dict]) -> list[dict]:
    """D12: one terminal decision per eligible (confirmed) signal, as the broker writes them:
    submit + fill, or a reject when the signal's gating is not ok."""
    from pytest_soak_evidence.orders import client_order_id, eligible
    events = []
    for n, row in enumerate(r for r in rows if eligible(r, only_strong=False)):
        base = {**outbox_event(n, row["row_id"]), "client_order_id": client_order_id(row),
                "ts_ms": row["ts_ms"], "event_ts_ms": row["ts_ms"], "symbol": row["symbol"]}
        if row["gating"] != "ok":
            events.append({**base, "event": "reject", "status": "rejected",
                           "reason": f"guard:{row['gating']}", "guard_reason": row["gating"]})
            continue
        events.append(base)
        events.append({**base, "event": "fill", "status": "filled", "px_fill": 100.0,
                       "fill_ts_ms": row["ts_ms"] + 5, "fill_qty": 0.01, "fee": 0.0004,
                       "liquidity": "taker", "exchange_order_id": f"paper-{n}"})
    return events


def ready_watch(run: Path) -> dict:
    """The harness's watch of ready/ (D12): every published file seen whole, never changed."""
    import hashlib
    files = {p.name: {"first_seen_ms": wall(60), "size": p.stat().st_size,
                      "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted((run / "outbox/ready").glob("*"))}
    return {"dir": "outbox/ready", "poll_ms": 100, "method": "os.scandir polling",
            "started_ms": wall(-30), "stopped_ms": wall(780), "polls": 8100, "files": files,
            "torn": [], "changed": [], "torn_count": 0, "changed_count": 0, "errors": []}


def counter(*wall_ms: int) -> dict:
    return {"count": len(wall_ms), "timestamps_ms": list(wall_ms),
            "spans": [[t, t, 1] for t in wall_ms]}


def feed_connection(cid: int, route: str, opened_s: float, closed_s: float, closed_by: str,
                    ids: dict[str, tuple[int, int]], other: int) -> dict:
    """One connection in the feed's account: its aggTrade ids per symbol (delivered one per
    market second, id i at second i) and `other` frames of its other stream."""
    ranges = {s: [[a, b, wall(a), wall(b)]] for s, (a, b) in ids.items()}
    frames = {f"{s.lower()}@aggTrade": b - a + 1 for s, (a, b) in ids.items()}
    if other:
        frames["btcusdt@bookTicker"] = other
    return {"id": cid, "route": route, "streams": sorted(frames), "opened_ms": wall(opened_s),
            "closed_ms": wall(closed_s), "closed_by": closed_by, "frames": frames,
            "frames_by_s": [[wall(closed_s) - 1000, 1]], "aggtrade_ranges": ranges,
            "unsent_frames": 0, "unsent_aggtrade_ranges": {}}


def feed_stats() -> dict:
    """The feed's account: the drop at 60 s closes harvest's two connections, which it opens
    again; every aggTrade id it delivered is in handoff/market (market_records)."""
    conns = [feed_connection(1, "market", -20, 60, "drop",
                             {"BTCUSDT": (1, 60), "ETHUSDT": (7, 60)}, 0),
             feed_connection(2, "public", -20, 60, "drop", {}, 40),
             feed_connection(3, "market", 61, 725, "client",
                             {"BTCUSDT": (61, 500), "ETHUSDT": (61, 306)}, 0),
             feed_connection(4, "public", 62, 725, "client", {}, 60)]
    return {"schema_version": 1, "range_ms": 1000, "bucket_ms": 1000, "connections": conns,
            "refused": [], "totals": {}}


FEED_FRAMES = 500 + 300 + 40 + 60          # every frame the feed sent harvest


def harvester_metrics(ids: dict) -> dict:
    return {"events_in": {"count": FEED_FRAMES, "timestamps_ms": [], "spans": []},
            "queue_dropped": counter(wall(600)),
            "reconnect_count": counter(wall(61), wall(62)),
            "substream_timeout_detected": counter(), "resync_count": counter(),
            "malformed_count": counter(), "events_out": 1000, "aggtrade_ids": ids,
            "queue_max": 1000,
            # the burst (at wall 600) fills the queue; the normal flow peaks at 40
            "queue_depth": {"bucket_ms": 1000, "peak": 1000, "peak_ms": wall(600),
                            "buckets": [[wall(10), 40, wall(10)], [wall(600), 1000, wall(600)]]}}


def market_records() -> list[dict]:
    """aggTrades in handoff/market matching harvest's/signal's aggtrade_ids in the manifest."""
    out = []
    for symbol, ids in (("BTCUSDT", range(1, 501)), ("ETHUSDT", range(7, 307))):
        out += [{"recv_ms": wall(i), "stream": f"{symbol.lower()}@aggTrade",
                 "data": {"e": "aggTrade", "s": symbol, "a": i, "E": ev(i)}} for i in ids]
    return out


STOP_ORDER = ("report", "broker", "signal", "harvest")


def observed_pids() -> dict:
    """Every pid the harness saw per stage; the final ones exit in the shutdown order."""
    out = {}
    for stage in STAGES:
        final = NEW_SIGNAL_PID if stage == "signal" else PIDS[stage]
        first = started(final) + 100 if stage == "signal" else W0
        out[stage] = [{"pid": final, "first_seen_ms": first, "last_seen_ms": wall(720),
                       "exit_ms": wall(720) + 100 * STOP_ORDER.index(stage) + 50}]
    out["signal"][:0] = [{"pid": old, "first_seen_ms": W0 if old == PIDS["signal"] else
                          started(old) + 100, "last_seen_ms": wall(s), "exit_ms": wall(s)}
                         for s, old, _, _ in KILLS]
    return out
