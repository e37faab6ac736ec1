"""A generic resilient WebSocket connection (nothing Binance-specific here).

- reconnects with exponential backoff and full jitter (delay in [b/2, b], b doubling to a cap,
  reset once a connection has delivered data);
- answers the server's pings (the websockets library does) and sends its own keepalive pings;
- reconnects pre-emptively after `max_connection_age_s` (exchanges cut at 24 h);
- watchdog: a sub-stream silent for longer than its own limit while the connection still flows
  is reported (`on_event("substream_silent", stream)`) and resubscribed; the limit follows the
  stream's observed pace (silence.py: k x its typical gap, at least
  `substream_silence_floor_s`, at most `substream_silence_s`). A connection silent for
  `connection_silence_s` is closed and reopened. A stream's silence counts only while its
  connection flows: a gap in the whole connection (an exchange outage, this process starved of
  CPU) is no stream's fault, so the streams that resume a moment after the first one are not
  flagged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from orchestrator.harvest.silence import StreamPace

EventCallback = Callable[[str, dict], None]
WATCHDOG_TICK_S = 0.5
# nothing on the whole connection for longer than the shortest silence limit / this: a
# connection-wide gap
CONNECTION_GAP_FRACTION = 4


class ResilientConnection:
    def __init__(self, name: str, url: str, streams: list[str], settings: dict[str, Any],
                 on_message: Callable[[ResilientConnection, str | bytes], None],
                 on_event: EventCallback, rng: random.Random | None = None) -> None:
        self.name = name
        self.url = url
        self.streams = list(streams)
        self.subscribed = set(streams)
        self.s = settings
        self.on_message = on_message
        self.on_event = on_event
        self.rng = rng or random.Random()
        self.ws: ClientConnection | None = None
        self.last_seen: dict[str, float] = {}     # stream -> monotonic time (the reader sets it)
        self.last_any = 0.0
        self.opened_at = 0.0
        self.pace: dict[str, StreamPace] = {stream: StreamPace() for stream in streams}
        self._ids = itertools.count(1)

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            reason = await self._one_connection(stop)
            if stop.is_set():
                return
            if self.last_any > self.opened_at:           # it delivered data: start over
                attempt = 0
            delay = min(self.s["backoff_max_s"], self.s["backoff_initial_s"] * 2 ** attempt)
            delay *= self.rng.uniform(0.5, 1.0)
            attempt += 1
            self.on_event("reconnect", {"connection": self.name, "reason": reason,
                                        "delay_s": round(delay, 3)})
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass

    async def _one_connection(self, stop: asyncio.Event) -> str:
        try:
            async with connect(self.url, open_timeout=self.s["connect_timeout_s"],
                               ping_interval=self.s["ping_interval_s"],
                               ping_timeout=self.s["ping_timeout_s"], close_timeout=2,
                               max_size=2**22, max_queue=4096, compression=None) as ws:
                self.ws = ws
                self.opened_at = self.last_any = time.monotonic()
                self.last_seen = dict.fromkeys(self.subscribed, self.opened_at)
                self.on_event("open", {"connection": self.name, "url": self.url})
                watchdog = asyncio.ensure_future(self._watchdog(ws))
                stopper = asyncio.ensure_future(self._close_on_stop(ws, stop))
                try:
                    async for message in ws:
                        self.note_arrival(time.monotonic())
                        self.on_message(self, message)
                finally:
                    watchdog.cancel()
                    stopper.cancel()
                return getattr(ws, "close_reason_for_harvest", None) or _close_reason(ws)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"
        except ConnectionClosed as exc:
            return f"closed: {exc}"
        except Exception as exc:          # noqa: BLE001 - whatever happens, reconnect
            return f"unexpected {type(exc).__name__}: {exc}"
        finally:
            self.ws = None

    def note_arrival(self, now: float) -> None:
        """A frame arrived (the reader calls this before handling it)."""
        gap = now - self.last_any
        if gap > self._connection_gap_s():
            for stream in self.last_seen:        # the whole connection paused: excuse the gap
                self.last_seen[stream] = min(now, self.last_seen[stream] + gap)
        self.last_any = now

    def note_stream(self, stream: str, now: float) -> None:
        """A frame of `stream` arrived (after note_arrival): its silence ends, its pace grows."""
        self.last_seen[stream] = now
        self.pace.setdefault(stream, StreamPace()).observe(now, self.s["substream_silence_s"])

    def _connection_gap_s(self) -> float:
        shortest = min(self.s["substream_silence_s"], self.s["substream_silence_floor_s"])
        return shortest / CONNECTION_GAP_FRACTION

    def silence_limit(self, stream: str) -> float:
        """Seconds of silence after which `stream` is flagged (silence.py)."""
        pace = self.pace.get(stream)
        bound = self.s["substream_silence_s"]
        if pace is None:
            return bound
        return pace.limit(bound, self.s["substream_silence_floor_s"],
                          self.s["substream_silence_factor"])

    async def _close_on_stop(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        await stop.wait()
        await ws.close(1000, "harvest stopping")

    async def _watchdog(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_TICK_S)
            now = time.monotonic()
            if now - self.opened_at > self.s["max_connection_age_s"]:
                await self._close(ws, "pre-emptive reconnect before the 24 h cut")
                return
            if now - self.last_any > self.s["connection_silence_s"]:
                await self._close(ws, "connection silent")
                return
            for stream, silent_s in self.silent_streams(now):
                self.on_event("substream_silent", {"connection": self.name, "stream": stream,
                                                   "silent_s": round(silent_s, 1)})
                self.last_seen[stream] = now
                self.pace.setdefault(stream, StreamPace()).restart()
                await self.resubscribe(ws, stream)

    def silent_streams(self, now: float) -> list[tuple[str, float]]:
        """(stream, seconds) of each sub-stream silent too long while its connection flows."""
        # The connection flows only if something arrived within the gap that note_arrival
        # excuses; a looser test (anything within the silence limit) blamed the stream whose
        # last frame fell a few ms before its neighbour's when the whole connection paused.
        if now - self.last_any > self._connection_gap_s():
            return []
        silent = ((stream, now - self.last_seen.get(stream, now))
                  for stream in sorted(self.subscribed))
        return [(stream, seconds) for stream, seconds in silent
                if seconds > self.silence_limit(stream)]

    async def resubscribe(self, ws: ClientConnection, stream: str) -> None:
        for method in ("UNSUBSCRIBE", "SUBSCRIBE"):
            await ws.send(json.dumps({"method": method, "params": [stream], "id": next(self._ids)}))

    async def _close(self, ws: ClientConnection, reason: str) -> None:
        ws.close_reason_for_harvest = reason          # type: ignore[attr-defined]
        await ws.close(1000, reason[:100])


def _close_reason(ws: ClientConnection) -> str:
    code = ws.close_code
    return f"server closed ({code} {ws.close_reason or ''})".strip() if code else "connection lost"
