"""Health: per-stage state rules and the loopback HTTP endpoint `GET /health`
(JSON documented by schemas/health.schema.json)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from orchestrator.stage_process import StageProcess, now_ms

log = logging.getLogger(__name__)


def freshness(sp: StageProcess, checked: bool, max_age_s: float | None) -> dict[str, Any]:
    """Age of the newest market event's arrival. Before the first event the time since the
    stage became ready counts, so a feed that never delivers still goes stale."""
    status = sp.status or {}
    arrived_ms = status.get("last_event_wall_ms")
    age_s = None if arrived_ms is None else max(0.0, (now_ms() - arrived_ms) / 1000)
    ok = True
    if checked and max_age_s is not None and sp.ready_at is not None:
        waited = age_s if age_s is not None else time.monotonic() - sp.ready_at
        ok = waited <= max_age_s
    return {"checked": checked and max_age_s is not None, "max_age_s": max_age_s,
            "last_event_ms": status.get("last_event_ms"), "last_event_age_s": age_s, "ok": ok}


def stage_state(sp: StageProcess, heartbeat_timeout_s: float, startup_timeout_s: float,
                fresh: dict[str, Any]) -> str:
    if sp.stopped:
        return "stopped"
    if not sp.pids:
        return "starting"                       # not spawned yet (waits for its upstream)
    if sp.tracker.gave_up or not sp.alive:
        return "unhealthy"
    if (sp.heartbeat_age_s() or 0.0) > heartbeat_timeout_s:
        return "unhealthy"
    if not sp.ready:
        # Alive and heartbeating but its readiness check fails (e.g. no feed to connect to):
        # starting for the startup window, degraded after it.
        return "starting" if time.monotonic() - sp.spawned_at <= startup_timeout_s else "degraded"
    return "healthy" if fresh["ok"] else "degraded"


def overall_state(phase: str, stage_states: dict[str, str]) -> str:
    """phase: starting|running|stopping|stopped (the supervisor's own)."""
    if phase in ("starting", "stopping", "stopped"):
        return phase
    states = set(stage_states.values())
    if states <= {"healthy"}:
        return "healthy"
    return "degraded"


class _Handler(BaseHTTPRequestHandler):
    snapshot: Callable[[], dict[str, Any]]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?")[0] != "/health":
            self._send(404, {"error": "not found", "path": self.path})
            return
        self._send(200, self.snapshot())

    def _send(self, code: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        return                                  # a poll every few seconds is not news


class HealthServer:
    """ThreadingHTTPServer on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, port: int, snapshot: Callable[[], dict[str, Any]]) -> None:
        handler = type("HealthHandler", (_Handler,), {"snapshot": staticmethod(snapshot)})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="health",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/health"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
