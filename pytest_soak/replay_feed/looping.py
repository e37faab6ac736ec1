"""Replaying a recording more than once, each loop continuing the previous one.

A soak longer than its recording replays it again and again. Loop k (k = 0, 1, ...) is the
recording with, per loop and per symbol (docs/data-sources.md, "Looping a recording"):

- times: recv_ms, E and T + k x P, P = the recording's span (last recv_ms - first) + 100 ms;
- aggTrade: a + k x (last a - first a + 1), f and l + k x (last l - first f + 1), so the
  aggregate ids stay contiguous across the seam;
- depth ids: U, u, pu (and bookTicker's u, the same book's id) + k x D, D = the highest book
  id (depth u or bookTicker u) - pu0 + 1, where pu0 is the pu of the loop's first diff
  (below); a later loop drops the bookTickers with u <= pu0 (book states before its start),
  so their u, too, only grows;
- at the start of every loop after the first, one bridging diff per symbol: pu = the last u
  served, U = u = pu0 + k x D, E/T the last diff's, its levels the difference between the
  book as served and the book the loop starts from (the recording's first snapshot; with
  none, the empty book the first loop started from). The loop's diffs then begin with the
  one spanning that snapshot (U <= L <= u, the earlier ones are dropped), whose pu is pu0: a
  client that stayed in sync across the seam holds exactly the book a client syncing afresh
  would hold, and pu == the previous u holds everywhere, so no book needs a resync.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_soak.replay_feed.book import ServedBook
from pytest_soak.replay_feed.recording import Record, is_snapshot

SEAM_MS = 100


@dataclass
class SymbolShape:
    """What the shifts of one symbol need, gathered in one pass over the recording."""
    first_snapshot: dict | None = None
    pu0: int | None = None           # pu of the first diff a loop replays
    last_u: int | None = None        # the last depth u
    last_book_id: int | None = None  # the highest book id, depth u or bookTicker u
    first_a: int | None = None
    last_a: int | None = None
    first_f: int | None = None
    last_l: int | None = None

    @property
    def depth_period(self) -> int:
        if self.last_u is None or self.pu0 is None:
            return 0
        return self.last_book_id - self.pu0 + 1

    @property
    def agg_period(self) -> int:
        return 0 if self.first_a is None else self.last_a - self.first_a + 1

    @property
    def trade_period(self) -> int:
        return 0 if self.first_f is None else self.last_l - self.first_f + 1


@dataclass
class RecordingShape:
    first_ms: int | None = None
    last_ms: int | None = None
    symbols: dict[str, SymbolShape] = field(default_factory=dict)
    snapshots: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def period_ms(self) -> int:
        return self.last_ms - self.first_ms + SEAM_MS

    def observe(self, record: Record) -> None:
        if self.first_ms is None:
            self.first_ms = record["recv_ms"]
        self.last_ms = record["recv_ms"]
        data = record["data"]
        if is_snapshot(record):
            self.snapshots.setdefault(record["snapshot"], []).append(data)
            shape = self.symbols.setdefault(record["snapshot"], SymbolShape())
            if shape.first_snapshot is None:
                shape.first_snapshot = data
            return
        symbol = record["stream"].split("@", 1)[0].upper()
        shape = self.symbols.setdefault(symbol, SymbolShape())
        if isinstance(data.get("u"), int) and data.get("e") in ("depthUpdate", "bookTicker"):
            shape.last_book_id = max(shape.last_book_id or data["u"], data["u"])
        if data.get("e") == "depthUpdate":
            shape.last_u = data["u"]
        elif data.get("e") == "aggTrade":
            shape.first_a = data["a"] if shape.first_a is None else shape.first_a
            shape.first_f = data["f"] if shape.first_f is None else shape.first_f
            shape.last_a, shape.last_l = data["a"], data["l"]

    def finish(self, first_diffs: dict[str, dict]) -> None:
        """pu0 per symbol: the diff spanning the first snapshot, else the first diff."""
        for symbol, diff in first_diffs.items():
            self.symbols[symbol].pu0 = diff["pu"]


def first_loop_diffs(records: Iterator[Record], shape: RecordingShape) -> dict[str, dict]:
    """Per symbol, the first diff a later loop replays (see the module doc)."""
    found: dict[str, dict] = {}
    for record in records:
        data = record["data"]
        if is_snapshot(record) or data.get("e") != "depthUpdate" or data["s"] in found:
            continue
        snap = shape.symbols.get(data["s"], SymbolShape()).first_snapshot
        if snap is None or data["u"] >= snap["lastUpdateId"]:
            found[data["s"]] = data
    return found


class Looper:
    """Yields the recording's events loop after loop (snapshot records are the book's, not
    events: the feed gets them from the scan), shifted as the module doc says."""

    def __init__(self, read: Any, shape: RecordingShape, loops: int | None) -> None:
        self.read, self.shape, self.loops = read, shape, loops
        self.loop = 0                     # the loop being replayed (0 = the first)
        self.started = 0                  # loops begun
        self.last_event_ms: dict[str, int] = {}   # per symbol, E of the last diff yielded
        self.replica = {symbol: ServedBook(shape.snapshots.get(symbol))
                        for symbol in shape.symbols}

    def records(self) -> Iterator[Record]:
        while self.loops is None or self.loop < self.loops:
            self.started += 1
            if self.loop > 0:
                yield from self._bridges()
            for record in self.read():
                if is_snapshot(record):
                    continue
                shifted = self._shift(record)
                if shifted is not None:
                    yield shifted
            self.loop += 1

    def _shift(self, record: Record) -> Record | None:
        k = self.loop
        data = dict(record["data"])
        symbol = record["stream"].split("@", 1)[0].upper()
        shape = self.shape.symbols[symbol]
        kind = data.get("e")
        if kind == "depthUpdate":
            if k > 0 and data["u"] < self._loop_start_u(shape):
                return None                       # before the loop's first diff
            for key in ("U", "u", "pu"):
                data[key] += k * shape.depth_period
            self.replica[symbol].apply(data)
        elif kind == "aggTrade":
            data["a"] += k * shape.agg_period
            data["f"] += k * shape.trade_period
            data["l"] += k * shape.trade_period
        elif kind == "bookTicker" and isinstance(data.get("u"), int):
            if k > 0 and shape.pu0 is not None and data["u"] <= shape.pu0:
                return None                       # a book state before the loop's start
            data["u"] += k * shape.depth_period
        for key in ("E", "T"):
            if isinstance(data.get(key), int):
                data[key] += k * self.shape.period_ms
        if kind == "depthUpdate":
            self.last_event_ms[symbol] = data["E"]
        return {"recv_ms": record["recv_ms"] + k * self.shape.period_ms,
                "stream": record["stream"], "data": data}

    @staticmethod
    def _loop_start_u(shape: SymbolShape) -> int:
        snap = shape.first_snapshot
        return snap["lastUpdateId"] if snap is not None else -1

    def _bridges(self) -> Iterator[Record]:
        k = self.loop
        when = self.shape.first_ms + k * self.shape.period_ms
        for symbol, shape in sorted(self.shape.symbols.items()):
            book = self.replica[symbol]
            if shape.pu0 is None or book.last_update_id == 0:
                continue
            target = shape.first_snapshot or {"bids": [], "asks": []}
            bridge_id = shape.pu0 + k * shape.depth_period
            # stamped as the last diff: event time never goes back, nor runs ahead of the loop
            stamp = self.last_event_ms.get(symbol, when)
            data = {"e": "depthUpdate", "E": stamp, "T": stamp, "s": symbol,
                    "U": bridge_id, "u": bridge_id, "pu": book.last_update_id,
                    "b": _level_changes(book.bids, target["bids"]),
                    "a": _level_changes(book.asks, target["asks"])}
            book.apply(data)
            yield {"recv_ms": when, "stream": f"{symbol.lower()}@depth@100ms", "data": data}


def _level_changes(have: dict[str, str], want: list) -> list[list[str]]:
    """The levels that turn `have` into `want`: removals (qty 0) and new or changed ones."""
    target = {price: qty for price, qty in want}
    zero = {price: "0." + "0" * len(qty.partition(".")[2]) if "." in qty else "0"
            for price, qty in have.items() if price not in target}
    changes = [[price, qty] for price, qty in zero.items()]
    changes += [[price, qty] for price, qty in target.items() if have.get(price) != qty]
    return changes
