"""burst: factor x the event rate between two exact event times (params.factor).

Applied by the feed in event time: the burst starts at the first event at/after its market
start and ends at the first event at/after its end. In between the feed packs `factor` x more
of its source into each second of event time, in both modes (replay_feed/stamps.py): the event
rate rises, event time keeps its pace (in LIVE never ahead of the wall clock), and the window's
events and stamps are the same in every run of one seed.
Proof, from the feed's own account (never the pipeline's counters): its plan records the
burst applied at an exact event and events delivered in its window.
Expects data_drop and queue_dropped (the streams run over harvest's per-stream rate limit,
which sheds them by event time); tolerates strong_ratio_collapse (the burst distorts the
strong-signal baseline for the minutes after it) and low_consistency (the thousands of events
it sheds leave the book and the flow windows inconsistent: a gate run saw 97 % of the minute
after a burst gated low_consistency). No stage's health: harvest sheds the excess
heartbeating and fresh (measured: healthy in every poll of the burst in two LIVE runs at 1x
and two gate runs at 30x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates

DEFAULT_FACTOR = 10.0


@dataclass(frozen=True)
class Burst(FeedFault):
    def control_params(self, f: Any) -> dict[str, Any]:
        params = dict(f.params)
        params.setdefault("factor", DEFAULT_FACTOR)
        return params

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        delivered = in_window.get("delivered") or 0
        if not delivered:
            return None
        return {"burst_factor": float(self.control_params(f)["factor"]),
                "burst_rate": start.get("rate"), "burst_delivered": delivered}


KIND = Burst(
    name="burst", windowed=True, clock="market", applied_by="feed", control="burst",
    what="feed `POST /control/plan` `burst {\"factor\": N}` between two event times",
    proof="the feed's plan records the burst at an exact event and events delivered in it",
    params={"factor": Param((int, float), default=DEFAULT_FACTOR, help="event-rate factor")},
    expects=Expects(alerts=("data_drop",), counters=("queue_dropped",)),
    tolerates=Tolerates(alerts=("strong_ratio_collapse", "low_consistency")),
)
