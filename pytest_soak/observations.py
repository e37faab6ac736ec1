"""harness_observations.json: the session's measurements as one document.

The shape is schemas/harness_observations.schema.json; every section is present even when the
run was cut short (nulls and empty lists), so a check can say `unknown` instead of crashing.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from pytest_soak import alert_path
from pytest_soak.history import now_ms


def build_observations(session: Any) -> dict[str, Any]:
    """From a SoakSession (any phase): settings, clock, observer summaries, history, stop."""
    s, obs = session.settings, session.observer
    stop_ms = session.times["stop_sent_ms"]
    exits = obs.pids.exits_after(stop_ms) if (obs and stop_ms) else []
    health = obs.health_summary() if obs else {
        "interval_s": s.health_interval_s, "samples_file": "observer/health.jsonl",
        "polls": 0, "per_stage": {}}
    resources = obs.resources_summary() if obs else {
        "samples_file": "observer/resources.jsonl", "sample_count": 0, "max_rss_mb": None,
        "max_open_files": None, "per_process": {}, "rss_series": {}}
    started, stopped = session.times["started_ms"], session.times["stopped_ms"]
    return {
        "schema_version": 1, "run_id": session.run_id, "mode": s.mode, "speed": s.speed,
        "minutes": s.minutes, "sink": session.sink, "seed": session.schedule.seed,
        "schedule_file": session.schedule.source, "report_tz": s.report_tz,
        "contract": session.spec.contract.to_json(),
        "interrupted": session.interrupted,
        "interrupt_reason": session.interrupt_reason,
        "harness": {"pid": os.getpid(), "max_rss_mb": _own_rss_mb(),
                    "started_ms": started, "ended_ms": now_ms(), **_guard(session.guard)},
        "pipeline": {
            "command": session.command, "health_url": session.health_url,
            "run_dir": str(session.run_dir),
            "supervisor_pid": session.proc.pid if session.proc else None,
            "exit_code": session.exit_code, **session.times, "stop_signal": session.stop_signal,
            "duration_s": round((stopped - started) / 1000, 3) if started and stopped
            else None},
        "market_clock": {"start_event_ms": session.clock.start_event_ms,
                         "end_event_ms": session.end_event_ms,
                         "start_wall_ms": session.clock.start_wall_ms,
                         "elapsed_market_s": session.market_s()},
        "health": health, "resources": resources,
        "pids": obs.pids_summary() if obs else {},
        "faults": session.history.fault_list(), "restarts": list(session.history.restarts),
        "shutdown": {"signal": session.stop_signal, "sent_ms": stop_ms, "exits": exits,
                     "observed_order": _order(exits, session.spec.stages),
                     "orphans": session.orphans, "sweep_error": session.sweep_error},
        "store": {"type": s.timeseries, "url": session.store.url, "readback": session.readback,
                  "readback_error": session.readback_error},
        "feed": session.feed.summary() if session.feed else None,
        "ready_watch": session.ready_watch.summary() if session.ready_watch else None,
        "alert_path": alert_path.section(session),
        "errors": list(session.history.errors),
    }


def _guard(guard: Any) -> dict[str, Any]:
    """Who ends this run's processes if the harness dies, and what earlier ones left."""
    return {"harness_id": guard.harness_id, "watcher_pid": guard.watcher_pid,
            "guard_error": guard.error, "earlier_harnesses_swept": list(guard.swept)}


def _order(exits: list[dict], stages: list[str]) -> list[str]:
    seen: list[str] = []
    for e in exits:
        if e["stage"] in stages and e["stage"] not in seen:
            seen.append(e["stage"])
    return seen


def _own_rss_mb() -> float | None:
    try:
        return round(psutil.Process().memory_info().rss / (1024 * 1024), 2)
    except psutil.Error:
        return None
