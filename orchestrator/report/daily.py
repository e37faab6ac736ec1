"""The daily report, one per sink: `reports/<sink>/summary_<YYYYmmdd_HHMMSS>.json` (schema
`daily_report`) and `.md`, times in REPORT_TZ. Signals are read FROM THE SINK, so the report
covers every committed signal whatever the shutdown order.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.exporters.base import figure
from orchestrator.report.aggregates import MinuteAggregate, MinuteAggregator
from orchestrator.report.alerts import iso_in_tz
from orchestrator.report.engine import read_json_or_none
from pytest_soak_evidence import sinks
from pytest_soak_evidence.atomic import write_bytes_atomic, write_json_atomic
from pytest_soak_evidence.schemas import validate

SCHEMA_VERSION = 1
SINKS_OF = {"jsonl": ["jsonl"], "sqlite": ["sqlite"], "dual": ["jsonl", "sqlite"]}


def read_sink(run_dir: Path, sink: str) -> tuple[list[dict], dict[str, Any]]:
    """The sink's rows and how the read went (a missing sink is an empty report, not a crash)."""
    path = sinks.jsonl_path(run_dir) if sink == "jsonl" else sinks.sqlite_path(run_dir)
    try:
        read = (sinks.read_jsonl_signals(path) if sink == "jsonl"
                else sinks.read_sqlite_signals(path))
    except Exception as exc:  # noqa: BLE001 - a broken sink is reported in the file
        return [], {"path": str(path), "rows": 0, "torn": 0, "error": f"{exc}"}
    return read.rows, {"path": str(path), "rows": len(read.rows), "torn": read.torn,
                       "error": None}


def _summary(agg: MinuteAggregate) -> dict[str, Any]:
    return {"total": agg.total, "confirm": agg.confirm, "strong": agg.strong,
            "strong_ratio": agg.strong_ratio, "low_consistency_share": agg.low_consistency_share,
            "gating_breakdown": dict(sorted(agg.gating.items()))}


def aggregate_rows(rows: list[dict], symbols: list[str], tz: ZoneInfo) -> dict[str, Any]:
    """Totals (overall and per symbol) and the per-minute table, gaps as zero minutes."""
    agg = MinuteAggregator(symbols, lateness_ms=0)
    ordered = sorted((r for r in rows if isinstance(r.get("ts_ms"), int | float)),
                     key=lambda r: r["ts_ms"])
    for row in ordered:
        agg.add({k: v for k, v in row.items() if k != "row_id"})   # the sink is the truth
    total = MinuteAggregate("ALL", 0)
    by_symbol: dict[str, MinuteAggregate] = {}
    per_minute = []
    for minute in agg.close_all():
        combined = minute.combined
        total.merge(combined)
        for symbol, a in minute.by_symbol.items():
            by_symbol.setdefault(symbol, MinuteAggregate(symbol, 0)).merge(a)
        per_minute.append({"minute_ms": minute.minute_ms,
                           "minute": iso_in_tz(minute.minute_ms, tz), "partial": minute.partial,
                           **_summary(combined),
                           "by_symbol": {s: a.total for s, a in minute.by_symbol.items()}})
    first = ordered[0]["ts_ms"] if ordered else None
    last = ordered[-1]["ts_ms"] if ordered else None
    return {"totals": {**_summary(total),
                       "by_symbol": {s: _summary(a) for s, a in sorted(by_symbol.items())}},
            "window": {"first_ts_ms": first, "last_ts_ms": last,
                       "first_ts": iso_in_tz(first, tz), "last_ts": iso_in_tz(last, tz),
                       "minutes": len(per_minute)},
            "per_minute": per_minute,
            "unusable_rows": agg.bad_records}


def harvester_slo(harvester: dict[str, Any], slo: dict[str, Any]) -> dict[str, Any]:
    dropped, reconnects, silent = (figure(harvester.get(key)) for key in (
        "queue_dropped", "reconnect_count", "substream_timeout_detected"))
    dropped = None if dropped is None else int(dropped)
    reconnects = None if reconnects is None else int(reconnects)
    silent = None if silent is None else silent > 0
    checks = {
        "queue_dropped": None if dropped is None else dropped <= slo["max_queue_dropped"],
        "reconnect_count": None if reconnects is None
        else reconnects <= slo["max_reconnect_count"],
        "substream_timeout_detected": None if silent is None else not silent}
    known = [v for v in checks.values() if v is not None]
    verdict = "unknown" if len(known) < len(checks) else ("pass" if all(known) else "fail")
    return {"queue_dropped": dropped, "reconnect_count": reconnects,
            "substream_timeout_detected": silent, "thresholds": dict(slo), "checks": checks,
            "verdict": verdict}


def restarts(manifest: dict[str, Any] | None) -> dict[str, int]:
    processes = ((manifest or {}).get("status") or {}).get("processes") or []
    return {p["name"]: int(p.get("restart_count", 0)) for p in processes
            if isinstance(p, dict) and "name" in p}


def build_report(*, run_dir: Path, run_id: str, sink: str, symbols: list[str], tz_name: str,
                 alerts: list[dict], export: dict[str, Any], harvester: dict[str, Any],
                 slo: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    tz = ZoneInfo(tz_name)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    rows, sink_read = read_sink(run_dir, sink)
    manifest = read_json_or_none(run_dir / "run_manifest.json")
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "sink": sink, "tz": tz_name,
            "generated_at": iso_in_tz(now_ms, tz), "generated_at_ms": now_ms,
            "sink_read": sink_read, **aggregate_rows(rows, symbols, tz),
            "runtime_state": read_json_or_none(run_dir / "runtime_state.json"),
            "alerts": alerts, "harvester_slo": harvester_slo(harvester, slo),
            "export": export,
            "resource_usage": (manifest or {}).get("resource_usage"),
            "restarts": restarts(manifest)}


def write_report(run_dir: Path, doc: dict[str, Any]) -> tuple[Path, Path]:
    """Validate, then write the JSON and Markdown files atomically."""
    validate(doc, "daily_report", source=f"daily report ({doc['sink']})")
    stamp = datetime.fromtimestamp(doc["generated_at_ms"] / 1000, ZoneInfo(doc["tz"]))
    base = Path(run_dir) / "reports" / doc["sink"] / f"summary_{stamp:%Y%m%d_%H%M%S}"
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    write_json_atomic(json_path, doc)
    from orchestrator.report.markdown import render
    write_bytes_atomic(md_path, render(doc).encode("utf-8"))
    return json_path, md_path
