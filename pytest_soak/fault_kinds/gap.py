"""gap: the depth stream of one symbol (the target) skips update ids at an exact event.

Applied by the feed in event time: the first depth diff of the symbol at/after the fault's
market time jumps `skip` ids (its `pu` is not the previous `u`), as if updates were lost
unseen. Proof: the feed's record of the gap at that event. Expects resync_count: the
reference harvest detects the broken `pu` chain and resyncs the book from a REST snapshot
(orchestrator/harvest/harvester.py `_on_depth`); it tolerates nothing else. Measured in a
gate-length soak (fixtures/faults/process_and_data.yaml, 30x): the gap was applied 45 event ms
after its planned time (at the next BTCUSDT depth diff), harvest resynced BTCUSDT at once, and
no DoD item failed on its account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param


@dataclass(frozen=True)
class Gap(FeedFault):
    def control_params(self, f: Any) -> dict[str, Any]:
        return {**f.params, "symbol": f.target.upper()}

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        return {"gap_symbol": f.target.upper(), "gap_skip": f.params.get("skip")}


KIND = Gap(
    name="gap", windowed=False, clock="market", applied_by="feed", control="gap",
    target="required", target_is="symbol",
    what="feed `POST /control/plan` `gap {\"symbol\", \"skip\"}` at an event time",
    proof="the feed's plan records the id jump at an exact event",
    params={"skip": Param((int,), default=10, help="update ids skipped")},
    expects=Expects(counters=("resync_count",)),
)
