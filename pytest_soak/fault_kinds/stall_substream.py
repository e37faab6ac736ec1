"""stall_substream: one sub-stream (the target) goes silent while the others flow.

Proof: the feed's record of the stall, at an exact event, names the connections it stalled.
The stall is sticky (a
resubscribe must not cure it mid-window). Expects substream_timeout_detected: the pipeline
must flag the silent stream inside the window (+ for_s). Its connection keeps flowing (the
other symbol's stream), so harvest resubscribes but never reconnects. Tolerates
strong_ratio_collapse for 180 market s after it ends: a silent aggTrade stream starves its
symbol's order-flow signals, which stay weak until the trailing windows refill -- measured in a
gate run, ETHUSDT's strong ratio was 0 from the stall's start through the second minute after
it, 0.07 in the third, and the all-symbol rule fired 2 minutes after the stall ended (D3 then
failed it as a stray).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates


@dataclass(frozen=True)
class StallSubstream(FeedFault):
    def control_params(self, f: Any) -> dict[str, Any]:
        params = dict(f.params)
        params.setdefault("stream", f.target)
        params.setdefault("sticky", True)     # a resubscribe must not cure it mid-window
        return params

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        stalled = start.get("connections") or []
        return {"stalled_connections": stalled} if stalled else None


KIND = StallSubstream(
    name="stall_substream", windowed=True, clock="market", applied_by="feed", control="stall",
    target="required", target_is="stream",
    what="feed `POST /control/plan` `stall {\"stream\", \"sticky\": true}` between two "
         "event times",
    proof="the feed's plan records the stall at an exact event, naming its connections",
    params={"sticky": Param((bool,), default=True, help="a resubscribe does not cure it")},
    expects=Expects(counters=("substream_timeout_detected",)),
    tolerates=Tolerates(alerts=("strong_ratio_collapse",), for_s=180.0),
    tolerates_doc="strong_ratio_collapse (its symbol's signals starve), for 180 market s",
)
