"""Signal sinks: `jsonl`, `sqlite` or `dual` (both), one file each behind sinks.base.Sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.config import defaults
from orchestrator.sinks.base import Sink, SinkUnavailable
from orchestrator.sinks.dual import DualSink
from orchestrator.sinks.jsonl import JsonlSink
from orchestrator.sinks.sqlite import SqliteSink
from pytest_soak_evidence.sinks import JSONL_NAME, SQLITE_NAME

SINK_KINDS = ("jsonl", "sqlite", "dual")

__all__ = ["SINK_KINDS", "DualSink", "JsonlSink", "Sink", "SinkUnavailable", "SqliteSink",
           "jsonl_settings", "open_sink", "sink_settings", "sqlite_settings"]


def sink_settings(section: dict[str, Any] | None) -> dict[str, Any]:
    """The `sinks` section over config/defaults.yaml's."""
    return {**defaults()["sinks"], **(section or {})}


def jsonl_settings(section: dict[str, Any] | None = None) -> dict[str, Any]:
    """JsonlSink's keyword arguments from the `sinks` section (over its defaults)."""
    return {"fsync": sink_settings(section)["jsonl_fsync"]}


def sqlite_settings(section: dict[str, Any] | None = None) -> dict[str, Any]:
    """SqliteSink's keyword arguments from the `sinks` section (over its defaults)."""
    cfg = sink_settings(section)
    return {"busy_timeout_ms": cfg["sqlite_busy_timeout_ms"],
            "lock_retries": cfg["sqlite_lock_retries"],
            "retry_delay_ms": cfg["sqlite_retry_delay_ms"],
            "synchronous": cfg["sqlite_synchronous"]}


def open_sink(kind: str, sinks_dir: Path | str, section: dict[str, Any] | None = None) -> Sink:
    """Open the sink(s) named by `--sink` under `sinks_dir` (run_dir/sinks)."""
    sinks_dir = Path(sinks_dir)
    if kind not in SINK_KINDS:
        raise ValueError(f"unknown sink {kind!r}: expected one of {', '.join(SINK_KINDS)}")
    jsonl = sqlite = None
    if kind in ("jsonl", "dual"):
        jsonl = JsonlSink(sinks_dir / JSONL_NAME, **jsonl_settings(section))
    if kind in ("sqlite", "dual"):
        sqlite = SqliteSink(sinks_dir / SQLITE_NAME, **sqlite_settings(section))
    if jsonl and sqlite:
        return DualSink(jsonl, sqlite)
    return jsonl or sqlite
