"""drop: close every connection (`mode` abort = TCP reset mid-stream, close = close frame
1001); `refuse_ms`: refuse new connections (HTTP 503) for that long."""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_soak.replay_feed.clock import wall_ms


def handle(ctl: Any, action: str, params: dict) -> dict:
    if action == "end":
        ctl.refuse_until_wall_ms = 0
        return {}
    clients = list(ctl.engine.clients.values())
    for client in clients:
        ctl.engine.remove_client(client, "drop")
        if params.get("mode", "abort") == "close":
            asyncio.ensure_future(client.ws.close(1001, "going away"))
        else:
            client.ws.transport.abort()
    if params.get("refuse_ms"):
        ctl.refuse_until_wall_ms = wall_ms() + int(params["refuse_ms"])
    return {"action": "inject", "dropped": [c.id for c in clients]}
