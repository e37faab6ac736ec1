"""malformed: broken frames (params.kind, `count` of them) sent at an exact event.

Applied by the feed in event time: the frames go out, on every connection subscribed to the
target stream (or on every connection), just before the first event at/after the fault's
market time. Proof: the feed's record says how many frames it sent. Expects malformed_count:
the reference harvest counts every frame it cannot parse or handle, logs each kind once and
goes on (orchestrator/harvest/harvester.py); nothing else is tolerated -- a malformed frame
must not cost a valid one (measured in a gate-length soak, fixtures/faults/
process_and_data.yaml: 6 frames on 2 connections counted, logged once; no item failed on
their account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param
from pytest_soak.replay_feed.faults.malformed import MALFORMED_KINDS


@dataclass(frozen=True)
class Malformed(FeedFault):
    def control_params(self, f: Any) -> dict[str, Any]:
        params = dict(f.params)
        if f.target:
            params["stream"] = f.target
        return params

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        sent = start.get("frames_sent") or 0
        return {"malformed_frames_sent": sent} if sent else None


KIND = Malformed(
    name="malformed", windowed=False, clock="market", applied_by="feed", control="malformed",
    target="optional", target_is="stream",
    what="feed `POST /control/plan` `malformed {\"kind\", \"count\"}` at an event time",
    proof="the feed's plan records the broken frames sent at an exact event",
    params={"kind": Param((str,), default="non_json", choices=MALFORMED_KINDS,
                          help="what is broken"),
            "count": Param((int,), default=3, help="frames per connection")},
    expects=Expects(counters=("malformed_count",)),
)
