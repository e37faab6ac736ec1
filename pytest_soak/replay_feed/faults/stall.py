"""stall: one sub-stream (`stream`) goes silent on the connections subscribed now; the others
keep flowing. A resubscribe cures it unless `sticky`; `end` cures everyone."""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.faults.base import require


def handle(ctl: Any, action: str, params: dict) -> dict:
    stream = require(params, "stream")
    engine = ctl.engine
    clients = list(engine.clients.values())
    if action == "start":
        clients = [c for c in clients if stream in c.streams]
    for client in clients:     # end: also a client caught between UNSUBSCRIBE and SUBSCRIBE
        (client.stalled.add if action == "start" else client.stalled.discard)(stream)
    if params.get("sticky") and action == "start":
        engine.sticky_stalls.add(stream)
    if action == "end":
        engine.sticky_stalls.discard(stream)
    return {"connections": [c.id for c in clients]}
