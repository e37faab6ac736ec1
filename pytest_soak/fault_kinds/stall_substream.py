"""stall_substream: one sub-stream (the target) goes silent while the others flow.

Proof: the feed's state shows a connection with that stream stalled. The stall is sticky (a
resubscribe must not cure it mid-window). Expects substream_timeout_detected: the pipeline
must flag the silent stream inside the window (+ for_s). Its connection keeps flowing (the
other symbol's stream), so harvest resubscribes but never reconnects: nothing else tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param


@dataclass(frozen=True)
class StallSubstream(FeedFault):
    def control_params(self, f: Any, speed: float | None = None) -> dict[str, Any]:
        params = dict(f.params)
        params.setdefault("stream", f.target)
        params.setdefault("sticky", True)     # a resubscribe must not cure it mid-window
        return params

    def proof_from(self, f: Any, answer: dict, feed_state: dict) -> dict | None:
        stalled = [c["id"] for c in feed_state.get("connections", [])
                   if f.target in c.get("stalled", [])]
        return {"stalled_connections": stalled} if stalled else None


KIND = StallSubstream(
    name="stall_substream", windowed=True, clock="market", applied_by="feed", control="stall",
    target="required", target_is="stream",
    what="feed `POST /control/stall` `{\"stream\", \"sticky\": true}`",
    proof="the feed's state shows a connection with that stream stalled",
    params={"sticky": Param((bool,), default=True, help="a resubscribe does not cure it")},
    expects=Expects(counters=("substream_timeout_detected",)),
)
