"""burst: the feed's clock runs params.factor x faster (factor x the event rate).

The burst speeds up the feed's own clock, so its market window passes in a blink of wall
time; the feed ends it itself, precisely, after `duration_ms` = window / (speed x factor).
Proof, from the feed's own account (never the pipeline's counters): its state's `last_burst`
shows this burst applied (the rate = speed x factor) and events delivered during it.
Expects data_drop and queue_dropped (the backlog overflows harvest's bounded queue);
tolerates strong_ratio_collapse (the burst
distorts the strong-signal baseline for the minutes after it) and low_consistency (the
thousands of events it drops leave the book and the flow windows inconsistent: a gate run
saw 97 % of the minute after a burst gated low_consistency). No stage's health: harvest
drains the backlog heartbeating and fresh (measured: healthy in every poll of the burst in two
LIVE runs at 1x and two gate runs at 30x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates, now_ms

DEFAULT_FACTOR = 10.0


@dataclass(frozen=True)
class Burst(FeedFault):
    def control_params(self, f: Any, speed: float | None = None) -> dict[str, Any]:
        params = dict(f.params)
        factor = float(params.setdefault("factor", DEFAULT_FACTOR))
        if speed:
            params.setdefault("duration_ms", round((f.end_s - f.start_s) * 1000
                                                   / (speed * factor)))
        return params

    def start(self, f: Any, ctx: Any) -> dict[str, Any]:
        return {"called_ms": now_ms(), **super().start(f, ctx)}

    def confirm(self, f: Any, ctx: Any, state: dict) -> dict | None:
        burst = ctx.feed.state().get("last_burst") or {}
        factor = float(f.params.get("factor", DEFAULT_FACTOR))
        mine = (burst.get("start_wall_ms") or 0) >= state["called_ms"] - 1000
        if mine and burst.get("factor") == factor and (burst.get("delivered") or 0) > 0:
            return {"burst_factor": factor, "burst_rate": burst.get("rate"),
                    "burst_delivered": burst["delivered"], "burst_active": burst.get("active"),
                    "burst_market_ms": [burst.get("start_market_ms"),
                                        burst.get("end_market_ms")]}
        return None


KIND = Burst(
    name="burst", windowed=True, clock="market", applied_by="feed", control="burst",
    what="feed `POST /control/burst` `{\"factor\": N, \"duration_ms\": window/(speed×N)}`",
    proof="the feed's `last_burst` shows the factor applied and events delivered during it",
    params={"factor": Param((int, float), default=DEFAULT_FACTOR, help="clock speed-up")},
    expects=Expects(alerts=("data_drop",), counters=("queue_dropped",)),
    tolerates=Tolerates(alerts=("strong_ratio_collapse", "low_consistency")),
)
