"""The harvester: socket reader (asyncio thread) -> bounded queue -> `drain()` into the handoff.

The reader parses each frame once, validates it, keeps the order books in sync, and queues
ready-made handoff lines (the recording format, built from the raw frame text without
re-serialising). It never blocks: when the queue is full the event is dropped and counted.
`drain()` runs on the stage's thread and appends to the durable handoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import deque
from typing import Any, NamedTuple, Protocol

from orchestrator.harvest.binance import Malformed, fetch_depth_snapshot, parse_frame, stream_url
from orchestrator.harvest.book_sync import BookSync
from orchestrator.harvest.connection import ResilientConnection
from orchestrator.harvest.counters import COUNTERS, TimedCounter
from orchestrator.harvest.queue_depth import DepthPeaks
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.harvest.stream_limit import StreamLimit
from orchestrator.id_ranges import AggTradeIds


class LineWriter(Protocol):
    def append_raw(self, line: str) -> None: ...
    def flush(self) -> None: ...


class QueuedEvent(NamedTuple):
    line: str                 # {"recv_ms", "stream", "data"} as one JSON line
    symbol: str
    agg_id: int | None        # aggTrade id (for the reconciliation ids)
    event_ms: int             # exchange event time E
    stream: str               # its stream (the rate limit is per stream)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Harvester:
    def __init__(self, settings: HarvestSettings, writer: LineWriter, log: logging.Logger,
                 recorder: Any = None) -> None:
        self.settings = settings
        self.writer = writer
        self.recorder = recorder
        self.log = log
        h = settings.harvest
        self.queue_max = int(h["queue_max"])
        self.limit = StreamLimit(h["stream_rate_limit_per_s"], h["stream_rate_burst_s"])
        self.dropped_by_cause = {"queue_full": 0, "rate_limit": 0}
        self.queue: deque[QueuedEvent] = deque()
        self.depth_peaks = DepthPeaks()        # the queue's depth high-water marks, with time
        self.counters = {name: TimedCounter(int(h["timestamps_max"])) for name in COUNTERS}
        self.counter_lock = threading.Lock()
        self.timeouts_by_stream: dict[str, int] = {}      # stream -> substream timeouts flagged
        self.aggtrade_ids = AggTradeIds()
        self.books = {symbol: BookSync(symbol) for symbol in settings.symbols}
        self.last_agg_id: dict[str, int] = {}
        self.subscribed = set(settings.streams())
        self.events_out = 0
        self.newest_event_ms: int | None = None
        self.connections: list[ResilientConnection] = []
        self.open_connections = 0
        self._logged_kinds: set[str] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._snapshot_tasks: dict[str, asyncio.Task] = {}
        self._events_in_pending = 0
        self._events_in_flushed_ms = 0

    # ---- lifecycle (stage thread) -----------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(ready,),
                                        name="harvest-reader", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._loop and self._stop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout_s)

    def drain(self, max_records: int) -> int:
        """Move up to max_records queued events into the handoff (one write); returns how many.
        Counted as accepted (events_out, aggtrade_ids) only after the write returned."""
        queue = self.queue
        count = min(max_records, len(queue))
        if not count:
            return 0
        events = [queue.popleft() for _ in range(count)]
        many = getattr(self.writer, "append_raw_many", None)
        if many is not None:
            many([event.line for event in events])
        else:
            for event in events:
                self.writer.append_raw(event.line)
        self.events_out += count
        for event in events:
            if event.agg_id is not None:
                self.aggtrade_ids.add(event.symbol, event.agg_id)
            if self.newest_event_ms is None or event.event_ms > self.newest_event_ms:
                self.newest_event_ms = event.event_ms
        return count

    # ---- the reader thread ---------------------------------------------------------------
    def _thread_main(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        feed, h = self.settings.feed, self.settings.harvest
        conn_settings = {**h, "connect_timeout_s": feed["connect_timeout_s"]}
        rng = random.Random()
        for route, streams in self.settings.connections().items():
            url = stream_url(feed["ws_base_url"], route, streams)
            self.connections.append(ResilientConnection(
                route.strip("/") or "legacy", url, streams, conn_settings,
                self._on_message, self._on_connection_event, rng))
        ready.set()
        await asyncio.gather(*(c.run(self._stop) for c in self.connections))
        self._flush_events_in(_now_ms())

    def _flush_events_in(self, now_ms: int) -> None:
        pending, self._events_in_pending = self._events_in_pending, 0
        self._events_in_flushed_ms = now_ms
        if pending:
            self._count("events_in", now_ms, pending)

    def _count(self, name: str, now_ms: int, n: int = 1) -> None:
        with self.counter_lock:
            self.counters[name].add(now_ms, n)

    def _log_once(self, kind: str, message: str, *args: Any) -> None:
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            self.log.warning(message + " (logged once per kind; counted every time)", *args)

    def _on_connection_event(self, kind: str, info: dict) -> None:
        now = _now_ms()
        if kind == "open":
            self.open_connections += 1
            self.log.info("connected %s", info["url"])
        elif kind == "reconnect":
            self.open_connections = sum(1 for c in self.connections if c.ws is not None)
            self._count("reconnect_count", now)
            self.log.warning("connection %s lost (%s): reconnecting in %.2f s",
                             info["connection"], info["reason"], info["delay_s"])
        elif kind == "substream_silent":
            with self.counter_lock:
                stream = info["stream"]
                self.timeouts_by_stream[stream] = self.timeouts_by_stream.get(stream, 0) + 1
            self._count("substream_timeout_detected", now)
            self.log.warning("sub-stream %s silent for %.1f s while its connection flows: "
                             "resubscribing", info["stream"], info["silent_s"])

    def _on_message(self, conn: ResilientConnection, raw: str | bytes) -> None:
        try:
            self._handle_frame(conn, raw)
        except Exception as exc:          # noqa: BLE001 - bad input must never stop the reader
            self._count("malformed_count", _now_ms())
            sample = raw[:200] if isinstance(raw, str) else repr(raw[:50])
            self._log_once("handler_error:" + type(exc).__name__,
                           "frame could not be processed (%r); sample: %s", exc, sample)

    def _handle_frame(self, conn: ResilientConnection, raw: str | bytes) -> None:
        now_ms = _now_ms()
        try:
            stream, data = parse_frame(raw, self.subscribed)
        except Malformed as exc:
            self._count("malformed_count", now_ms)
            sample = raw[:200] if isinstance(raw, str) else repr(raw[:50])
            self._log_once("malformed:" + exc.kind, "malformed frame (%s): %s; sample: %s",
                           exc.kind, exc, sample)
            return
        if stream is None:
            if "error" in data:
                self._log_once("method_error", "the exchange refused a method: %s", data)
            return
        conn.note_stream(stream, time.monotonic())
        self._events_in_pending += 1                 # counted in 100 ms batches: hot path
        if now_ms - self._events_in_flushed_ms >= 100:
            self._flush_events_in(now_ms)
        line = _handoff_line(raw, now_ms)
        if self.recorder is not None:
            self.recorder.write(line)        # every valid frame, in or out of book sync
        symbol = data["s"]
        kind = data.get("e")
        if kind == "aggTrade":
            self._on_agg_trade(QueuedEvent(line, symbol, data["a"], data["E"], stream), now_ms)
        elif kind == "depthUpdate":
            self._on_depth(data, QueuedEvent(line, symbol, None, data["E"], stream), now_ms)
        else:
            self._enqueue(QueuedEvent(line, symbol, None, data["E"], stream), now_ms)

    def _on_agg_trade(self, event: QueuedEvent, now_ms: int) -> None:
        last = self.last_agg_id.get(event.symbol)
        if last is not None and event.agg_id <= last:
            self._count("out_of_order_count", now_ms)
            self._log_once("out_of_order", "aggTrade id %d after %d on %s: dropped",
                           event.agg_id, last, event.symbol)
            return
        self.last_agg_id[event.symbol] = event.agg_id
        self._enqueue(event, now_ms)

    def _on_depth(self, data: dict, event: QueuedEvent, now_ms: int) -> None:
        book = self.books.get(event.symbol)
        if book is None:
            return
        before = book.resyncs
        ready = book.on_diff(data, event)
        if book.resyncs > before:
            self._count("resync_count", now_ms, book.resyncs - before)
            self.log.warning("%s order book out of sync (pu %s != last u): resyncing",
                             event.symbol, data["pu"])
        for item in ready:
            self._enqueue(item, now_ms)
        if book.needs_snapshot and event.symbol not in self._snapshot_tasks:
            task = asyncio.ensure_future(self._snapshot(book))
            self._snapshot_tasks[event.symbol] = task

    async def _snapshot(self, book: BookSync) -> None:
        """Fetch until the book is in sync (a failed or stale snapshot is retried)."""
        feed = self.settings.feed
        try:
            while book.needs_snapshot and not self._stop.is_set():
                try:
                    snapshot = await asyncio.to_thread(
                        fetch_depth_snapshot, feed["rest_base_url"], book.symbol,
                        feed["depth_snapshot_limit"], feed["rest_timeout_s"])
                    now_ms = _now_ms()
                    if self.recorder is not None:     # a replay's book is right from its start
                        self.recorder.write_snapshot(now_ms, book.symbol, snapshot)
                    for item in book.on_snapshot(snapshot):
                        self._enqueue(item, now_ms)
                except Exception as exc:          # noqa: BLE001 - a bad snapshot is retried
                    self._count("snapshot_errors", _now_ms())
                    self._log_once("snapshot_error", "depth snapshot failed: %s", exc)
                    book.reject_snapshot()
                    await asyncio.sleep(self.settings.harvest["snapshot_retry_s"])
                    continue
                if book.needs_snapshot:                   # stale: wait for newer diffs
                    await asyncio.sleep(0.05)
        finally:
            self._snapshot_tasks.pop(book.symbol, None)

    def _enqueue(self, event: QueuedEvent, now_ms: int) -> None:
        """queue_dropped counts what harvest does not hand on, for either cause."""
        if not self.limit.admit(event.stream, event.event_ms):
            self._drop("rate_limit", now_ms, "%s over its rate limit (%s events per event-time "
                       "second): shedding", event.stream, self.limit.per_s)
            return
        if len(self.queue) >= self.queue_max:
            self._drop("queue_full", now_ms, "queue full (%d): dropping events", self.queue_max)
            return
        self.queue.append(event)
        self.depth_peaks.observe(len(self.queue), now_ms)

    def _drop(self, cause: str, now_ms: int, message: str, *args: Any) -> None:
        with self.counter_lock:  # the health thread reads both
            self.dropped_by_cause[cause] += 1
            self.counters["queue_dropped"].add(now_ms, 1)
        self._log_once("queue_dropped:" + cause, message, *args)

    # ---- reporting ------------------------------------------------------------------------
    def counter_sections(self) -> dict[str, dict]:
        with self.counter_lock:
            return {name: counter.section() for name, counter in self.counters.items()}

    def drops_by_cause(self) -> dict[str, int]:
        with self.counter_lock:
            return dict(self.dropped_by_cause)

    def stream_timeouts(self) -> dict[str, int]:
        """substream_timeout_detected split by stream."""
        with self.counter_lock:
            return dict(self.timeouts_by_stream)

    def counts(self) -> dict[str, int]:
        with self.counter_lock:
            out = {name: counter.count for name, counter in self.counters.items()}
        out["events_in"] += self._events_in_pending
        return out


def _handoff_line(raw: str, recv_ms: int) -> str:
    """'{"stream":..,"data":..}' -> '{"recv_ms":N,"stream":..,"data":..}' without re-encoding."""
    if raw.startswith('{"stream"') and "\n" not in raw:
        return f'{{"recv_ms":{recv_ms},{raw[1:]}'
    doc = json.loads(raw)
    return json.dumps({"recv_ms": recv_ms, "stream": doc["stream"], "data": doc["data"]},
                      separators=(",", ":"))
