"""Event-time order across streams: a bounded reorder buffer with a watermark (docs/signals.md).

harvest appends events in arrival order, and arrival order across its WebSocket connections
(aggTrade on /market, depth and bookTicker on /public) depends on the network, so a signal
computed in arrival order depends on it too. The buffer holds each market record until the
watermark passes it, then releases records in the order of their key:

    (event time, kind rank, symbol, exchange id)     kind rank: depthUpdate, bookTicker, aggTrade

- event time: the engine's own time of the event (`T`, `E` when absent), clamped so that it
  never decreases within one stream (kind, symbol): a stream's records keep their arrival
  order, which is their id order, so the engine's "id <= last applied: replayed" rule stays
  exact;
- equal times: book changes before trades (a trade is evaluated against every book change of
  its millisecond), then symbol, then the exchange's id (aggTrade `a`, update id `u`);
- watermark: the newest event time seen minus `lateness_ms` (event-time ms); a record is
  released once its time is at or below it, or when more than `max_events` are held (the
  oldest goes first, counted as overflow);
- idle release (`idle_release_ms`, wall ms, optional): once the stage has read everything
  harvest appended (`caught_up`), a record held that long since it was read is released too,
  in key order, without waiting for a newer event: the event-time watermark moves only when
  the market does, and a quiet market's next event can be 100 ms away (at 1x that held a
  generated market's trades 136 ms at p99 for a 40 ms lateness). It assumes what the lateness
  assumes, a skew between harvest's connections below `idle_release_ms` of wall time; never
  while reading a backlog (after a restart, or behind), so a replay is released by event time
  alone, as before. Counted (`idle_released`);
- late: a record whose key is below the last released one can no longer take its place; it
  is released at once (never dropped: D9 reconciles every aggTrade id), counted, and the first
  one is logged with a sample. Records without a usable key (malformed, unknown kinds) are
  released at once too: the engine counts them;
- commit position: the handoff position of the oldest held record (`commit_position`), so a
  restarted stage reads again everything that was held and nothing is lost or applied twice.
"""

from __future__ import annotations

import heapq
import logging
import time
from typing import Any

Position = tuple[int, int]
Key = tuple[int, int, str, int]
KIND_RANK = {"depthUpdate": 0, "bookTicker": 1, "aggTrade": 2}
ID_FIELD = {"depthUpdate": "u", "bookTicker": "u", "aggTrade": "a"}
COUNTERS = ("late_events", "overflow_released", "idle_released", "max_buffered")
log = logging.getLogger(__name__)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"{value!r} is not an integer")
    return value


def raw_key(record: Any) -> tuple[str, str, int, int] | None:
    """(kind, symbol, time, id) of a market record, or None when it has no usable key."""
    try:
        data = record["data"]
        kind = data["e"]
        time_ms = _int(data.get("T") or data["E"])
        return kind, str(data["s"]), time_ms, _int(data[ID_FIELD[kind]])
    except (KeyError, TypeError):
        return None


class ReorderBuffer:
    def __init__(self, lateness_ms: float, max_events: int,
                 idle_release_ms: float | None = None, clock=time.monotonic) -> None:
        self.lateness_ms = lateness_ms
        self.max_events = max_events
        self.idle_release_ms = idle_release_ms
        self._clock = clock
        # (key, seq, position, record, read at: clock seconds)
        self._heap: list[tuple[Key, int, Position, dict, float]] = []
        self._ready: list[dict] = []           # released at once (late or keyless), in order
        self._seq = 0
        self._stream_ms: dict[tuple[str, str], int] = {}
        self.newest_ms: int | None = None
        self.released_key: Key | None = None
        self.counters = dict.fromkeys(COUNTERS, 0)

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, position: Position, record: dict) -> None:
        raw = raw_key(record)
        if raw is None:
            self._ready.append(record)
            return
        kind, symbol, time_ms, ident = raw
        stream = (kind, symbol)
        time_ms = max(time_ms, self._stream_ms.get(stream, time_ms))
        self._stream_ms[stream] = time_ms
        key = (time_ms, KIND_RANK[kind], symbol, ident)
        if self.newest_ms is None or time_ms > self.newest_ms:
            self.newest_ms = time_ms
        if self.released_key is not None and key < self.released_key:
            self._late(record)
            return
        self._seq += 1
        heapq.heappush(self._heap, (key, self._seq, position, record, self._clock()))
        self.counters["max_buffered"] = max(self.counters["max_buffered"], len(self._heap))

    def _late(self, record: dict) -> None:
        self.counters["late_events"] += 1
        if self.counters["late_events"] == 1:
            log.warning("market record behind the watermark (more than %s event-time ms late, "
                        "after %s): applied out of order; sample: %.300r (further ones are only "
                        "counted)", self.lateness_ms, self.released_key, record)
        self._ready.append(record)

    def release(self, caught_up: bool = False) -> list[dict]:
        """The records the watermark has passed (and any late or keyless ones), in order;
        `caught_up` (the reader is at the end of its input): also those held idle_release_ms."""
        out, self._ready = self._ready, []
        heap = self._heap
        while len(heap) > self.max_events:
            self.counters["overflow_released"] += 1
            out.append(self._pop())
        if self.newest_ms is not None:
            watermark = self.newest_ms - self.lateness_ms
            while heap and heap[0][0][0] <= watermark:
                out.append(self._pop())
        if caught_up and self.idle_release_ms is not None and heap:
            read_before = self._clock() - self.idle_release_ms / 1000.0
            while heap and heap[0][4] <= read_before:
                self.counters["idle_released"] += 1
                out.append(self._pop())
        return out

    def flush(self) -> list[dict]:
        """Everything held, in order (end of stream, graceful stop)."""
        out, self._ready = self._ready, []
        while self._heap:
            out.append(self._pop())
        return out

    def _pop(self) -> dict:
        key, _, _, record, _ = heapq.heappop(self._heap)
        self.released_key = key
        return record

    def commit_position(self, read_position: Position) -> Position:
        """Where a consumer may commit: before the oldest held record, else what it read."""
        if not self._heap:
            return read_position
        return min(entry[2] for entry in self._heap)

    def metrics(self) -> dict:
        return {"lateness_ms": self.lateness_ms, "idle_release_ms": self.idle_release_ms,
                "max_events": self.max_events,
                "buffered": len(self._heap), **self.counters}

    def load_counters(self, counters: dict) -> None:
        self.counters.update({k: int(v) for k, v in counters.items() if k in self.counters})
