"""GET /health: the stages' state as JSON (the body of schemas/health.schema.json), served by
a minimal HTTP/1.1 responder on asyncio streams (one request per connection)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from examples.asyncio_pipeline.slots import Slot

HEARTBEAT_TIMEOUT_S = 5.0   # no heartbeat for this long: the stage is hung (unhealthy)
STARTUP_TIMEOUT_S = 30.0    # alive but not ready for this long: degraded, not starting


def _freshness(slot: Slot, max_age_s: float | None, now_ms: int) -> dict[str, Any]:
    checked = max_age_s is not None and slot.name == "ingest"   # the market-data stage
    arrived = slot.hb.get("last_event_wall_ms")
    age = None if arrived is None else round(max(0, now_ms - arrived) / 1000, 3)
    ok = not checked or (age is not None and age <= max_age_s)
    return {"checked": checked, "max_age_s": max_age_s if checked else None,
            "last_event_ms": slot.hb.get("last_event_ms"), "last_event_age_s": age, "ok": ok}


def _state(slot: Slot, ready: bool, hb_age: float | None, fresh: bool, now: float) -> str:
    if slot.stopped:
        return "stopped"
    if slot.pid is None:
        return "starting" if slot.started_mono is None else "unhealthy"
    if hb_age is not None and hb_age > HEARTBEAT_TIMEOUT_S:
        return "unhealthy"
    if not ready:
        waited = now - (slot.started_mono or now)
        return "starting" if waited < STARTUP_TIMEOUT_S else "degraded"
    return "healthy" if fresh else "degraded"


def stage_doc(slot: Slot, max_age_s: float | None) -> dict[str, Any]:
    now, now_ms = time.monotonic(), int(time.time() * 1000)
    alive = slot.pid is not None
    since = slot.last_hb_mono if slot.last_hb_mono is not None else slot.started_mono
    hb_age = round(now - since, 3) if alive and since is not None else None
    ready = alive and bool(slot.hb.get("ready"))
    fresh = _freshness(slot, max_age_s, now_ms)
    return {"state": _state(slot, ready, hb_age, fresh["ok"], now), "pid": slot.pid,
            "ready": ready, "restart_count": slot.restart_count, "gave_up": slot.gave_up,
            "heartbeat_age_s": hb_age, "freshness": fresh, "last_exit": slot.last_exit}


def overall(phase: str, stages: dict[str, dict[str, Any]]) -> str:
    if phase in ("starting", "stopping", "stopped"):
        return phase
    healthy = all(s["state"] == "healthy" for s in stages.values())
    return "healthy" if healthy else "degraded"


def _response(status: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


async def serve(document: Callable[[], dict[str, Any]], port: int) -> asyncio.Server:
    """Listen on 127.0.0.1:port (0: any); GET /health answers `document()`, else 404."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass                                        # headers: nothing needed
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method == "GET" and path == "/health":
                writer.write(_response("200 OK", json.dumps(document()).encode()))
            else:
                writer.write(_response("404 Not Found", b'{"error": "not found"}'))
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    return await asyncio.start_server(handle, "127.0.0.1", port)
