"""The book the feed serves at /fapi/v1/depth: built from the very diffs it emits.

Because the snapshot is the diffs applied up to the last emitted `u`, a client following
Binance's procedure (buffer, snapshot, drop u < lastUpdateId, first U <= lastUpdateId <= u,
then pu == previous u) stays in sync.
"""

from __future__ import annotations

import threading


class ServedBook:
    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.last_update_id = 0
        self.lock = threading.Lock()

    def apply(self, data: dict) -> None:
        with self.lock:
            _apply_side(self.bids, data.get("b") or [])
            _apply_side(self.asks, data.get("a") or [])
            self.last_update_id = data["u"]

    def snapshot(self, limit: int, event_ms: int) -> dict:
        with self.lock:
            bids = sorted(self.bids.items(), key=lambda kv: float(kv[0]), reverse=True)[:limit]
            asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:limit]
            return {"lastUpdateId": self.last_update_id, "E": event_ms, "T": event_ms,
                    "bids": [list(level) for level in bids],
                    "asks": [list(level) for level in asks]}


def _apply_side(side: dict[str, str], levels: list) -> None:
    for price, qty in levels:
        if float(qty) == 0:
            side.pop(price, None)
        else:
            side[price] = qty
