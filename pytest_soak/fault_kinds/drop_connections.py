"""drop_connections: the feed closes every WebSocket; harvest must reconnect.

Applied by the feed at an exact event (the connections close before it is sent). Proof: the
feed's record names the connections it dropped. Expects reconnect_count to move (each
dropped connection is reopened). No stage's health by default: harvest reconnects within half
a second (measured in two LIVE runs at 1x, where freshness is checked strictly with a 10 s
window, and two gate runs at 30x: healthy in every poll), far inside the freshness window.
With `refuse_ms` (the feed refuses reconnections that long) harvest may go stale: then it
tolerates harvest's health (for the run's settle margin unless the schedule sets `for_s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates, with_health


@dataclass(frozen=True)
class DropConnections(FeedFault):
    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        return with_health(self.tolerates, "harvest") if params.get("refuse_ms") else (
            self.tolerates)

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        dropped = start.get("dropped") or []
        return {"dropped_connections": dropped} if dropped else None


KIND = DropConnections(
    name="drop_connections", windowed=False, clock="market", applied_by="feed", control="drop",
    what="feed `POST /control/plan` `drop` at an event time",
    proof="the feed's plan names the connections it dropped at an exact event",
    params={"mode": Param((str,), choices=("abort", "close"),
                          help="abort = TCP reset, close = close frame 1001"),
            "refuse_ms": Param((int,), help="refuse new connections this many wall ms")},
    expects=Expects(counters=("reconnect_count",)),
    tolerates_doc="harvest health only with refuse_ms",
)
