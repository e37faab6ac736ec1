"""The feed's core: the producer that paces events, the subscriptions, and the fault state.

Runs on one asyncio loop. Every client has an outgoing queue drained by its own writer task:
paced modes never wait for a client (a client that falls QUEUE_MAX frames behind is
disconnected, as the exchange does with slow consumers); `max` mode waits for the slowest
subscribed client (backpressure: the feed drops nothing).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any

from pytest_soak.replay_feed.accounting import Accounting
from pytest_soak.replay_feed.book import ServedBook
from pytest_soak.replay_feed.clock import MarketClock, wall_ms
from pytest_soak.replay_feed.stamps import Stamps
from pytest_soak.replay_feed.streams import served_on, symbol_of

QUEUE_MAX = 20_000
log = logging.getLogger("replay_feed")
_dumps = json.JSONEncoder(separators=(",", ":")).encode


DAY_MS = 86_400_000


def session_offset_ms(wall_now_ms: int, first_ms: int, live: bool) -> int:
    """What the session adds to the source's times. LIVE: the session starts at the wall 'now'
    (quasi-real time). Otherwise a whole number of days, the most that keeps the first stamp
    at or before now: the time of day, minute and second phases of the source are kept, so two
    runs of one seed carry the same stamps up to whole days and bucket the same (a z-score
    sample per second, a report's day in any fixed-offset zone), whenever they run."""
    if live:
        return wall_now_ms - first_ms
    return (wall_now_ms - first_ms) // DAY_MS * DAY_MS


class CloseAfterQueued:
    """A client's last queue item: its writer sends what came before, then runs `close`."""

    def __init__(self, close: Any) -> None:
        self.close = close


class Client:
    _ids = itertools.count(1)

    def __init__(self, ws: Any, route: str | None, combined: bool) -> None:
        self.id = next(self._ids)
        self.ws = ws
        self.route = route
        self.combined = combined
        self.streams: set[str] = set()
        self.stalled: set[str] = set()
        self.queue: asyncio.Queue[str | bytes] = asyncio.Queue(QUEUE_MAX)
        self.account: Any = None          # its ConnectionAccount (engine.accounting)
        self.closing: str | None = None   # why it is being closed after its queue

    def frame(self, stream: str, payload: str) -> str:
        return f'{{"stream":"{stream}","data":{payload}}}' if self.combined else payload


class FeedEngine:
    def __init__(self, source: Any, speed: float | None, start_on: str,
                 start_grace_s: float, live: bool = False) -> None:
        self.source = source
        self.clock = MarketClock(speed, live)
        self.start_on = start_on
        self.start_grace_s = start_grace_s
        self.books = {spec.symbol: ServedBook(source.snapshots.get(spec.symbol))
                      for spec in source.specs}
        self.clients: dict[int, Client] = {}
        self.subscribers: dict[str, set[Client]] = {}
        self.wanted: set[str] = set()     # max mode waits until these have a subscriber
        self.paused_all = False
        self.paused_streams: set[str] = set()
        self.sticky_stalls: set[str] = set()
        self.id_offset: dict[str, int] = {}
        self.pending_gap: dict[str, int] = {}
        self.stamps = Stamps()            # source time -> event time (a burst packs them)
        self.plan: Any = None             # faults.plan.FaultPlan: faults applied in event time
        self.started = asyncio.Event()
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.subs_changed = asyncio.Event()
        self.finished = False
        self.stopping = False
        self.delivered = 0
        self.skipped = 0
        self.session_start_wall_ms: int | None = None
        self.session_start_ms: int | None = None     # its event time (the stamp domain)
        self.accounting = Accounting()
        self.sent_log: Any = None         # sent_log.SentLog (--sent-log): when each trade went

    # ---- subscriptions ------------------------------------------------------------------
    def subscribe(self, client: Client, streams: list[str]) -> list[str]:
        """Returns the streams this route does not serve (they are ignored, as on the exchange)."""
        refused = []
        for stream in streams:
            if not served_on(client.route, stream):
                refused.append(stream)
                continue
            client.streams.add(stream)
            if stream not in self.sticky_stalls:
                client.stalled.discard(stream)        # a resubscribe cures a stalled stream
            self.subscribers.setdefault(stream, set()).add(client)
            self.wanted.add(stream)
        self._subs_changed()
        return refused

    def unsubscribe(self, client: Client, streams: list[str]) -> None:
        for stream in streams:
            client.streams.discard(stream)
            self.subscribers.get(stream, set()).discard(client)
            if not self.subscribers.get(stream):
                self.wanted.discard(stream)      # deliberately unsubscribed: don't wait for it
        self._subs_changed()

    def add_client(self, client: Client) -> None:
        self.clients[client.id] = client
        client.account = self.accounting.opened(client.id, client.route, sorted(client.streams))

    def close_after_queued(self, client: Client, close: Any, closed_by: str = "drop") -> bool:
        """Stop queueing events for `client` now; its writer sends what is queued, then the
        client is removed (`closed_by`) and `close` runs. False if its queue is full."""
        try:
            client.queue.put_nowait(CloseAfterQueued(close))
        except asyncio.QueueFull:
            return False
        for stream in client.streams:
            self.subscribers.get(stream, set()).discard(client)
        client.closing = closed_by
        return True

    def remove_client(self, client: Client, closed_by: str = "client") -> None:
        """A lost connection keeps its streams `wanted`: max mode waits for the reconnect.
        What is still queued for it is never sent: taken off and recorded as unsent."""
        self.clients.pop(client.id, None)
        if client.account is not None:
            queued = []
            while not client.queue.empty():
                item = client.queue.get_nowait()
                if not isinstance(item, CloseAfterQueued):
                    queued.append(item)
            client.account.close("feed_stop" if self.stopping else closed_by, queued)
        for stream in client.streams:
            self.subscribers.get(stream, set()).discard(client)
        self._subs_changed()

    def _subs_changed(self) -> None:
        self.subs_changed.set()
        if self.start_on == "subscribe" and self.wanted >= self.source.streams:
            self.start()

    def start(self) -> bool:
        if self.started.is_set():
            return False
        self.session_start_wall_ms = wall_ms()
        offset_ms = session_offset_ms(self.session_start_wall_ms, self.source.first_ms,
                                      live=self.clock.live)
        self.stamps.start(offset_ms)
        self.session_start_ms = self.source.first_ms + offset_ms
        self.clock.start(self.session_start_ms)
        self.started.set()
        return True

    # ---- the producer -------------------------------------------------------------------
    async def run(self) -> None:
        await self._wait_for_start()
        count = 0
        for record in self.source.records():
            stamp = self.stamps.stamp(record["recv_ms"])
            if self.clock.paced:
                await self._wait_until(stamp)
            else:
                await self._wait_for_readers(record["stream"])
                self.clock.last_delivered_ms = stamp
            if self.stopping:
                return
            shift = stamp - record["recv_ms"]
            if self.plan is not None:
                self.plan.due(stamp - self.session_start_ms,
                              _event_of(record, shift, self.session_start_ms))
            await self._deliver(record, shift)
            count += 1
            if count % 256 == 0:
                await asyncio.sleep(0)
        self.finished = True
        log.info("source finished after %d events", count)

    async def _wait_for_start(self) -> None:
        if self.start_on == "now":
            self.start()
        while not self.started.is_set():
            if self.wanted and self.start_on == "subscribe":
                try:
                    await asyncio.wait_for(self.started.wait(), self.start_grace_s)
                except TimeoutError:
                    self.start()
            else:
                await asyncio.sleep(0.02)

    async def _wait_until(self, due_ms: int) -> None:
        while not self.stopping:
            wait_s = self.clock.wall_seconds_until(due_ms)
            if wait_s <= 0:
                return
            await asyncio.sleep(min(wait_s, 0.05))

    async def _wait_for_readers(self, stream: str) -> None:
        while not self.stopping and (not self.resumed.is_set() or
                                     (stream in self.wanted and not self.subscribers.get(stream))):
            self.subs_changed.clear()
            waiters = [asyncio.ensure_future(self.resumed.wait()),
                       asyncio.ensure_future(self.subs_changed.wait())]
            await asyncio.wait(waiters, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _deliver(self, record: dict, shift: int | None = None) -> None:
        stream = record["stream"]
        symbol = symbol_of(stream)
        data = self._restamp(record["data"], symbol,
                             self.stamps.offset_ms if shift is None else shift)
        if data.get("e") == "depthUpdate" and symbol in self.books:
            self.books[symbol].apply(data)          # the book moves on even during an outage
        if self.paused_all or stream in self.paused_streams:
            self.skipped += 1
            return
        payload = _dumps(data)
        agg_id = data.get("a") if data.get("e") == "aggTrade" else None
        for client in list(self.subscribers.get(stream, ())):
            if stream in client.stalled:
                continue
            if await self._offer(client, client.frame(stream, payload)) and client.account:
                client.account.delivered(stream, wall_ms(), symbol, agg_id)
        if agg_id is not None and self.sent_log is not None:
            self.sent_log.sent(symbol, agg_id)
        self.delivered += 1

    async def _offer(self, client: Client, frame: str | bytes) -> bool:
        """Queue a frame for a client; False if it was not queued (the client went away)."""
        if not self.clock.paced:
            # backpressure, but never wait forever on a client that has gone away
            while client.id in self.clients:
                if not client.queue.full():
                    client.queue.put_nowait(frame)
                    return True
                try:
                    await asyncio.wait_for(client.queue.put(frame), 0.5)
                    return True
                except TimeoutError:
                    continue
            return False
        try:
            client.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            log.warning("client %d is %d frames behind: disconnecting it", client.id, QUEUE_MAX)
            self.remove_client(client, "slow_consumer")
            client.ws.transport.abort()
            return False

    def _restamp(self, data: dict, symbol: str, shift: int) -> dict:
        data = dict(data)
        for key in ("E", "T"):
            if isinstance(data.get(key), int):
                data[key] += shift
        kind = data.get("e")
        if kind == "depthUpdate":
            # a gap: ids jump as if `skip` updates happened unseen, so pu != the previous u
            shift = self.id_offset.get(symbol, 0) + self.pending_gap.pop(symbol, 0)
            self.id_offset[symbol] = shift
            for key in ("U", "u", "pu"):
                if isinstance(data.get(key), int):
                    data[key] += shift
        elif kind == "bookTicker" and isinstance(data.get("u"), int):
            data["u"] += self.id_offset.get(symbol, 0)
        return data

    def send_raw(self, make_frame: Any, stream: str | None) -> int:
        """Put make_frame(client) on every client subscribed to `stream` (or on all clients)."""
        targets = [c for c in self.clients.values() if stream is None or stream in c.streams]
        for client in targets:
            try:
                client.queue.put_nowait(make_frame(client))
            except asyncio.QueueFull:
                pass
        return len(targets)

    def market_ms(self) -> int:
        """Event time now: the stamp clock (LIVE: never ahead of the wall clock)."""
        return self.clock.now()


def _event_of(record: dict, shift: int, session_start_ms: int | None) -> dict:
    """The exact event a planned fault was applied at: times, stream and its source id."""
    data = record["data"]
    key = "a" if data.get("e") == "aggTrade" else "u"
    stamp = record["recv_ms"] + shift
    return {"event_ms": stamp, "session_ms": stamp - (session_start_ms or 0),
            "stream": record["stream"], "id": data.get(key)}
