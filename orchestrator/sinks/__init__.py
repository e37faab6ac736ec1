"""Signal sinks: `jsonl`, `sqlite` or `dual` (both), one file each behind sinks.base.Sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidence.sinks import JSONL_NAME, SQLITE_NAME
from orchestrator.sinks.base import Sink, SinkUnavailable
from orchestrator.sinks.dual import DualSink
from orchestrator.sinks.jsonl import JsonlSink
from orchestrator.sinks.sqlite import SqliteSink

SINK_KINDS = ("jsonl", "sqlite", "dual")
DEFAULTS: dict[str, Any] = {
    "jsonl_fsync": True,            # fsync the JSONL file after every batch (and at close)
    "sqlite_synchronous": "NORMAL",  # WAL + NORMAL: a committed batch survives a SIGKILL
    "sqlite_busy_timeout_ms": 2000,
    "sqlite_lock_retries": 5,
    "sqlite_retry_delay_ms": 50,
}

__all__ = ["SINK_KINDS", "DualSink", "JsonlSink", "Sink", "SinkUnavailable", "SqliteSink",
           "open_sink", "sink_settings"]


def sink_settings(section: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULTS, **(section or {})}


def open_sink(kind: str, sinks_dir: Path | str, section: dict[str, Any] | None = None) -> Sink:
    """Open the sink(s) named by `--sink` under `sinks_dir` (run_dir/sinks)."""
    cfg = sink_settings(section)
    sinks_dir = Path(sinks_dir)
    if kind not in SINK_KINDS:
        raise ValueError(f"unknown sink {kind!r}: expected one of {', '.join(SINK_KINDS)}")
    jsonl = sqlite = None
    if kind in ("jsonl", "dual"):
        jsonl = JsonlSink(sinks_dir / JSONL_NAME, fsync=cfg["jsonl_fsync"])
    if kind in ("sqlite", "dual"):
        sqlite = SqliteSink(sinks_dir / SQLITE_NAME, busy_timeout_ms=cfg["sqlite_busy_timeout_ms"],
                            lock_retries=cfg["sqlite_lock_retries"],
                            retry_delay_ms=cfg["sqlite_retry_delay_ms"],
                            synchronous=cfg["sqlite_synchronous"])
    if jsonl and sqlite:
        return DualSink(jsonl, sqlite)
    return jsonl or sqlite
