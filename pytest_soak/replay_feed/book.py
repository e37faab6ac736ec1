"""The book the feed serves at /fapi/v1/depth: built from the very diffs it emits.

Because the snapshot is the diffs applied up to the last emitted `u`, a client following
Binance's procedure (buffer, snapshot, drop u < lastUpdateId, first U <= lastUpdateId <= u,
then pu == previous u) stays in sync.

A recording may carry the REST snapshots its recorder took (`snapshots`: lastUpdateId order).
The book then loads a snapshot when the diff that spans its lastUpdateId L is applied
(U <= L <= u, what a client does), and from there it is the exchange's whole book, not just
the levels the diffs touched. Until then the depth endpoint answers with the next recorded
snapshot as recorded (L ahead of the stream: the client buffers until the diff spanning L, as
against the exchange); with no snapshot ahead and none loaded, with the diffs' book as before.
"""

from __future__ import annotations

import threading


class ServedBook:
    def __init__(self, snapshots: list[dict] | None = None) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.last_update_id = 0
        self.lock = threading.Lock()
        self.pending = sorted(snapshots or [], key=lambda s: s["lastUpdateId"])
        self.based = False          # True once a recorded snapshot has been loaded

    def apply(self, data: dict) -> None:
        with self.lock:
            while self.pending and self.pending[0]["lastUpdateId"] < data["U"]:
                self.pending.pop(0)             # a snapshot whose diff never came: useless
            if self.pending and self.pending[0]["lastUpdateId"] <= data["u"]:
                self._load(self.pending.pop(0))
            _apply_side(self.bids, data.get("b") or [])
            _apply_side(self.asks, data.get("a") or [])
            self.last_update_id = data["u"]

    def _load(self, snapshot: dict) -> None:
        self.bids = {price: qty for price, qty in snapshot["bids"]}
        self.asks = {price: qty for price, qty in snapshot["asks"]}
        self.based = True

    def snapshot(self, limit: int, event_ms: int, id_shift: int = 0) -> dict:
        with self.lock:
            if not self.based and self.pending:
                ahead = self.pending[0]
                return {"lastUpdateId": ahead["lastUpdateId"] + id_shift, "E": event_ms,
                        "T": event_ms, "bids": [list(lv) for lv in ahead["bids"][:limit]],
                        "asks": [list(lv) for lv in ahead["asks"][:limit]]}
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
