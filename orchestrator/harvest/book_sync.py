"""Binance USDⓈ-M local order book procedure, per symbol.

1. Buffer the diff events. 2. Get a REST snapshot (lastUpdateId = L).
3. Drop buffered events with u < L. 4. The first event applied must have U <= L <= u
   (if the first left has U > L the snapshot is stale: fetch another).
5. Every later event must have pu == the previous event's u; otherwise the book is out of
   sync: count a resync, buffer again from this event, fetch a new snapshot.
Only events applied while in sync are forwarded (they are what `on_diff` returns).
"""

from __future__ import annotations

from collections import deque
from typing import Any

BUFFER_MAX = 20_000


class BookSync:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.synced = False
        self.needs_snapshot = True
        self.last_u: int | None = None
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self._buffer: deque[tuple[dict, Any]] = deque(maxlen=BUFFER_MAX)
        self._snapshot: dict | None = None
        self.resyncs = 0

    def on_diff(self, data: dict, item: Any) -> list[Any]:
        """The items to forward (in order); `resyncs` counts every loss of sync."""
        if self.synced:
            if data["pu"] == self.last_u:
                self._apply(data)
                return [item]
            self._lose_sync()
            self._buffer.append((data, item))
            return []
        self._buffer.append((data, item))
        return self._try_sync()

    def on_snapshot(self, snapshot: dict) -> list[Any]:
        self._snapshot = snapshot
        self.needs_snapshot = False
        return self._try_sync()

    def reject_snapshot(self) -> None:
        """A snapshot that could not be used: fetch another."""
        self._snapshot = None
        self.needs_snapshot = True

    def _lose_sync(self) -> None:
        if self.synced or self.last_u is not None:
            self.resyncs += 1
        self.synced = False
        self.needs_snapshot = True
        self._snapshot = None

    def _try_sync(self) -> list[Any]:
        if self._snapshot is None:
            return []
        last_id = self._snapshot["lastUpdateId"]
        while self._buffer and self._buffer[0][0]["u"] < last_id:
            self._buffer.popleft()
        if not self._buffer:
            return []
        if self._buffer[0][0]["U"] > last_id:       # events we never saw came after L
            self._snapshot = None                   # stale snapshot: fetch another
            self.needs_snapshot = True
            return []
        self._load(self._snapshot)
        first, item = self._buffer.popleft()
        self._apply(first)
        self.synced = True
        out = [item]
        while self._buffer:
            data, item = self._buffer[0]
            if data["pu"] != self.last_u:
                self._lose_sync()               # a gap inside the buffer: start over
                return out
            self._buffer.popleft()
            self._apply(data)
            out.append(item)
        return out

    def _load(self, snapshot: dict) -> None:
        self.bids = {p: q for p, q in snapshot["bids"]}
        self.asks = {p: q for p, q in snapshot["asks"]}

    def _apply(self, data: dict) -> None:
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, qty in levels:
                if float(qty) == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.last_u = data["u"]

    def top(self) -> tuple[float, float] | None:
        if not self.bids or not self.asks:
            return None
        return max(map(float, self.bids)), min(map(float, self.asks))
