"""drop_connections: the feed closes every WebSocket; harvest must reconnect.

Proof: the feed names the connections it dropped. Expects reconnect_count to move (each
dropped connection is reopened); tolerates harvest's health while it reconnects (LIVE mode
checks freshness strictly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates


@dataclass(frozen=True)
class DropConnections(FeedFault):
    def proof_from(self, f: Any, answer: dict, feed_state: dict) -> dict | None:
        dropped = answer.get("dropped") or []
        return {"dropped_connections": dropped} if dropped else None


KIND = DropConnections(
    name="drop_connections", windowed=False, clock="wall", applied_by="feed", control="drop",
    what="feed `POST /control/drop`", proof="the feed names the connections it dropped",
    params={"mode": Param((str,), choices=("abort", "close"),
                          help="abort = TCP reset, close = close frame 1001"),
            "refuse_ms": Param((int,), help="refuse new connections this many wall ms")},
    expects=Expects(counters=("reconnect_count",)),
    tolerates=Tolerates(health=("harvest",)),
)
