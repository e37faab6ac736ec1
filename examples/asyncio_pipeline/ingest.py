"""ingest: Binance USD-M combined aggTrade streams in, one trade line per trade out.

A combined-stream frame is `{"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "s": ...,
"p": "60000.1", "q": "0.040", "T": ms, "a": id, ...}}`. A frame that is not that (not JSON, no
data, a trade with a non-positive price) is counted as malformed, logged once with a sample,
and skipped; the connection stays up. A dropped connection is reopened with its own backoff
(0.5 s doubling to 5 s); ingest is not ready while it is down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from examples.asyncio_pipeline import wire
from examples.asyncio_pipeline.stage import StageIO

log = logging.getLogger("asyncio_pipeline.ingest")
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.5, 5.0


def parse_trade(frame: Any) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """(trade line, None), or (None, why it is malformed). Only aggTrade streams are
    subscribed, so another event kind is malformed too."""
    obj = wire.decode(frame)
    if obj is None:
        return None, "not a JSON object"
    data = obj.get("data")
    if not isinstance(data, dict):
        return None, "no data object"
    if data.get("e") != "aggTrade":
        return None, "not an aggTrade event"
    try:
        symbol, price, qty = str(data["s"]), float(data["p"]), float(data["q"])
        trade_ms, trade_id, event_ms = int(data["T"]), int(data["a"]), int(data["E"])
    except (KeyError, TypeError, ValueError):
        return None, "aggTrade with a missing or mistyped field"
    if not (price > 0 and qty > 0):
        return None, "aggTrade with a non-positive price or quantity"
    return {"t": "trade", "s": symbol, "p": price, "q": qty, "T": trade_ms, "a": trade_id,
            "E": event_ms}, None


def _on_frame(io: StageIO, feed: wire.Malformed, frame: str | bytes) -> None:
    io.count("frames")
    trade, why = parse_trade(frame)
    if trade is None:
        feed.note(why, frame)
        io.count("malformed_frames")
    else:
        io.count("trades")
        io.last_event_ms, io.last_event_wall_ms = trade["E"], int(time.time() * 1000)
        io.emit(trade)


async def _consume(io: StageIO, url: str) -> None:
    feed = wire.Malformed(log, "feed frame")
    delay = RECONNECT_FIRST_S
    while True:
        try:
            async with connect(url, open_timeout=5, close_timeout=1, max_size=2**20) as ws:
                io.ready, delay = True, RECONNECT_FIRST_S
                log.info("connected to %s", url)
                async for frame in ws:
                    _on_frame(io, feed, frame)
                log.warning("the feed closed the connection")
        except (OSError, TimeoutError, WebSocketException) as exc:
            log.warning("feed connection failed: %s", exc)
        io.ready = False
        io.count("reconnects")
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)


async def run(io: StageIO, args: argparse.Namespace) -> None:
    if not args.feed_url:
        raise SystemExit("ingest needs --feed-url")
    feed = asyncio.ensure_future(_consume(io, args.feed_url))
    async for msg in io.messages():            # ingest has no upstream: control only
        io.malformed.note("data on ingest's stdin", msg)
    feed.cancel()
    try:
        await feed
    except asyncio.CancelledError:
        pass
