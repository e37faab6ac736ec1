"""pause_feed: the feed sends nothing (all streams, or the target stream) for the window.

Applied by the feed in event time: exactly the events of the window are withheld (skipped,
never delivered late). Proof: the feed's record of the pause at its first event.
Expects no_data (total == 0 for 2 minutes).
Tolerates: reconnect_count (a silent exchange makes harvest reopen a connection after every
`connection_silence_s` of silence: 30 wall s, so a 3.5-minute pause at 1x reconnects ~7 times
per connection; at 30x it is over before the first), substream_timeout_detected (pausing one
stream is a silent sub-stream), harvest's health (LIVE freshness goes stale), and
strong_ratio_collapse (the minutes around the pause are thin, their ratios noisy), for 30
market s after the window (`for_s`): measured in two LIVE runs at 1x, harvest is unhealthy
from 10 s into the pause to its end and healthy again at the first poll after it (< 10 s);
30 s leaves two more polls for a loaded machine. No reconnect or sub-stream timeout came
after a window in those runs either. In REPLAY mode harvest's freshness is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Tolerates


@dataclass(frozen=True)
class PauseFeed(FeedFault):
    def control_params(self, f: Any) -> dict[str, Any]:
        params = dict(f.params)
        if f.target:
            params.setdefault("stream", f.target)
        return params

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        return {"feed_paused": True, "skipped_in_window": in_window.get("skipped")}


KIND = PauseFeed(
    name="pause_feed", windowed=True, clock="market", applied_by="feed", control="pause",
    target="optional", target_is="stream",
    what="feed `POST /control/plan` `pause` between two event times",
    proof="the feed's plan records the pause applied at an exact event",
    expects=Expects(alerts=("no_data",)),
    tolerates=Tolerates(alerts=("strong_ratio_collapse",),
                        counters=("reconnect_count", "substream_timeout_detected"),
                        health=("harvest",), for_s=30.0),
)
