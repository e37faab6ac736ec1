"""drop: close every connection (`mode` abort = TCP reset mid-stream, close = close frame
1001); `refuse_ms`: refuse new connections (HTTP 503) for that long.

The cut is exact in event time: every connection stops taking events at once, but what was
already queued for it is written first, then it is closed (engine.CloseAfterQueued). A drop
applied at a planned event therefore delivers exactly the events before it in every run of a
seed; closing with frames still queued made the last trades before the hole depend on how far
the writer lagged at that wall-clock moment."""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_soak.replay_feed.clock import wall_ms


def _close(client: Any, mode: str) -> None:
    if mode == "close":
        asyncio.ensure_future(client.ws.close(1001, "going away"))
    else:
        client.ws.transport.abort()


def handle(ctl: Any, action: str, params: dict) -> dict:
    if action == "end":
        ctl.refuse_until_wall_ms = 0
        return {}
    clients = list(ctl.engine.clients.values())
    mode = params.get("mode", "abort")
    for client in clients:
        if not ctl.engine.close_after_queued(client, lambda c=client: _close(c, mode)):
            ctl.engine.remove_client(client, "drop")      # its queue is full: cut it now
            _close(client, mode)
    if params.get("refuse_ms"):
        ctl.refuse_until_wall_ms = wall_ms() + int(params["refuse_ms"])
    return {"action": "inject", "dropped": [c.id for c in clients]}
