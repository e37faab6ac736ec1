"""run_manifest.json and source_manifest.json: built from the supervisor's state and the
stages' status-file `manifest` sections, rewritten atomically (a SIGKILLed run still leaves a
valid file)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from orchestrator.config import section
from pytest_soak_evidence.atomic import write_json_atomic

SCHEMA_VERSION = 1
# Sections stages publish; present from the start (null = not published yet) so the manifest
# always has every key and never claims data it does not have.
STAGE_SECTIONS = ("harvester_metrics", "signal_metrics", "executor_metrics",
                  "timeseries_export", "alerts")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def iso_utc(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def merged_sections(stage_sections: list[dict[str, Any]]) -> dict[str, Any]:
    """Defaults overlaid with each stage's latest sections (later stages win on a clash)."""
    out: dict[str, Any] = dict.fromkeys(STAGE_SECTIONS)
    for sections in stage_sections:
        out.update(sections)
    return out


def run_manifest(*, run_id: str, state: str, started_ms: int, ended_ms: int | None,
                 replay_mode: bool, sink: str, minutes: float, enabled: list[str],
                 stop_reason: str | None, market_span_s: float | None,
                 processes: list[dict[str, Any]], restart_policy: dict[str, Any],
                 resource_usage: dict[str, Any], shutdown_order: list[dict[str, Any]],
                 shutdown_order_configured: list[str], sections: dict[str, Any],
                 post_run: dict[str, Any], exit_code: int | None) -> dict[str, Any]:
    end = ended_ms if ended_ms is not None else int(time.time() * 1000)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "state": state,
        "started_ms": started_ms,
        "ended_ms": ended_ms,
        "mode": "replay" if replay_mode else "live",
        "replay_mode": replay_mode,
        "sink": sink,
        "enabled": enabled,
        "duration": {"requested_minutes": minutes, "wall_s": round((end - started_ms) / 1000, 3),
                     "market_s": market_span_s, "stop_reason": stop_reason},
        "exit_code": exit_code,
        "status": {"processes": processes},
        "restart_policy": restart_policy,
        "restart_backoff_pattern": {p["name"]: p["backoff_delays_s"] for p in processes},
        "resource_usage": resource_usage,
        "shutdown_order_configured": shutdown_order_configured,
        "shutdown_order": shutdown_order,
        "post_run": post_run,
        **sections,
    }


def source_manifest(*, run_id: str, started_ms: int, ended_ms: int | None, symbols: list[str],
                    config: dict[str, Any], config_snapshot: dict[str, Any],
                    replay_mode: bool, sink: str, enabled: list[str],
                    source: dict[str, Any]) -> dict[str, Any]:
    """`source` is what a stage published as its `source` status section (harvest knows the
    endpoint it actually connected to); the config fills the gaps."""
    feed = section(config, "feed")
    endpoint = source.get("ws_endpoint") or feed.get("ws_base_url")
    region = source.get("ws_region") or feed.get("ws_region") or _region_of(endpoint)
    input_mode = source.get("input_mode") or section(config, "run")["input_mode"]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "session_start": iso_utc(started_ms),
        "session_end": iso_utc(ended_ms),
        "session_start_ms": started_ms,
        "session_end_ms": ended_ms,
        "symbols": symbols,
        "ws_endpoint": endpoint,
        "ws_region": region,
        "input_mode": input_mode,
        "replay_mode": replay_mode,
        "sink": sink,
        "enabled": enabled,
        "config_snapshot": config_snapshot,
    }


def _region_of(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    return "loopback" if urlparse(endpoint).hostname in LOOPBACK_HOSTS else None


def write(run_dir: Path, name: str, doc: dict[str, Any]) -> None:
    write_json_atomic(run_dir / name, doc)
