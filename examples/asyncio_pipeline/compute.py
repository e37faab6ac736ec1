"""compute: trades in, one bar per symbol and minute (of trade time) out.

A bar is emitted when the symbol's next minute starts: trade count, volume, VWAP, high, low,
the first and last aggTrade id, and `missing_ids` (ids skipped inside the minute: trades lost
upstream, e.g. while ingest was down). The first bar of a symbol after a (re)start is marked
`partial`: trades before the start never reached this process. Trades of an already emitted
minute are counted as `late` and dropped. At the stop the open minutes are incomplete and are
not emitted (logged with their counts).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import Any

from examples.asyncio_pipeline.stage import StageIO

log = logging.getLogger("asyncio_pipeline.compute")
MINUTE_MS = 60_000


@dataclass
class Minute:
    symbol: str
    minute_ms: int
    partial: bool
    trades: int = 0
    volume: float = 0.0
    notional: float = 0.0
    high: float = float("-inf")
    low: float = float("inf")
    first_id: int | None = None
    last_id: int | None = None
    missing_ids: int = 0

    def add(self, price: float, qty: float, trade_id: int, prev_id: int | None) -> None:
        self.trades += 1
        self.volume += qty
        self.notional += price * qty
        self.high, self.low = max(self.high, price), min(self.low, price)
        if self.first_id is None:
            self.first_id = trade_id
        if prev_id is not None and trade_id > prev_id + 1:
            self.missing_ids += trade_id - prev_id - 1
        self.last_id = trade_id

    def bar(self) -> dict[str, Any]:
        return {"t": "bar", "symbol": self.symbol, "minute_ms": self.minute_ms,
                "trades": self.trades, "volume": round(self.volume, 8),
                "vwap": round(self.notional / self.volume, 8), "high": self.high,
                "low": self.low, "first_id": self.first_id, "last_id": self.last_id,
                "missing_ids": self.missing_ids, "partial": self.partial}


def _trade(msg: dict[str, Any]) -> tuple[str, float, float, int, int] | None:
    try:
        trade = (str(msg["s"]), float(msg["p"]), float(msg["q"]), int(msg["T"]), int(msg["a"]))
    except (KeyError, TypeError, ValueError):
        return None
    return trade if msg.get("t") == "trade" and trade[1] > 0 and trade[2] > 0 else None


class Bars:
    def __init__(self, io: StageIO) -> None:
        self.io = io
        self.open: dict[str, Minute] = {}
        self.last_id: dict[str, int] = {}

    def add(self, msg: dict[str, Any]) -> None:
        trade = _trade(msg)
        if trade is None:
            self.io.malformed.note("not a trade", msg)
            return
        symbol, price, qty, trade_ms, trade_id = trade
        minute_ms = trade_ms - trade_ms % MINUTE_MS
        current = self.open.get(symbol)
        if current is not None and minute_ms < current.minute_ms:
            self.io.count("late_trades")
            return
        if current is None or minute_ms > current.minute_ms:
            if current is not None:
                self.io.emit(current.bar())
                self.io.count("bars")
            current = self.open[symbol] = Minute(symbol, minute_ms, partial=current is None)
        current.add(price, qty, trade_id, self.last_id.get(symbol))
        self.last_id[symbol] = max(trade_id, self.last_id.get(symbol, trade_id))
        self.io.count("trades")


async def run(io: StageIO, args: argparse.Namespace) -> None:
    bars = Bars(io)
    io.ready = True
    async for msg in io.messages():
        bars.add(msg)
    for minute in bars.open.values():
        log.info("stop: open minute %s %d left out (incomplete, %d trades)", minute.symbol,
                 minute.minute_ms, minute.trades)
