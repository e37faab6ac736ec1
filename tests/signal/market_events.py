"""Hand-made Binance USDⓈ-M handoff records for the signal tests."""

from __future__ import annotations

import random

from orchestrator.signal.reorder import ReorderBuffer

T0 = 1_767_225_600_000


def agg_trade(agg_id: int, ts_ms: int, qty: float = 1.0, buyer_is_maker: bool = False,
              price: float = 100.0, symbol: str = "BTCUSDT") -> dict:
    return {"recv_ms": ts_ms + 2, "stream": f"{symbol.lower()}@aggTrade", "data": {
        "e": "aggTrade", "E": ts_ms + 1, "a": agg_id, "s": symbol, "p": f"{price}",
        "q": f"{qty}", "f": agg_id * 10, "l": agg_id * 10, "T": ts_ms, "m": buyer_is_maker}}


def book_ticker(update_id: int, ts_ms: int, bid: float = 99.99, bid_qty: float = 5.0,
                ask: float = 100.01, ask_qty: float = 5.0, symbol: str = "BTCUSDT") -> dict:
    return {"recv_ms": ts_ms + 2, "stream": f"{symbol.lower()}@bookTicker", "data": {
        "e": "bookTicker", "u": update_id, "s": symbol, "b": f"{bid}", "B": f"{bid_qty}",
        "a": f"{ask}", "A": f"{ask_qty}", "T": ts_ms, "E": ts_ms + 1}}


def steady_market(seconds: int, start_ms: int = T0, spread: float = 0.02) -> list[dict]:
    """One quote and one alternating-size taker buy per 250 ms (buying pressure throughout)."""
    out = []
    for i in range(seconds * 4):
        ts = start_ms + i * 250
        bid = 100.0 - spread / 2
        out.append(book_ticker(i + 1, ts, bid=bid, ask=bid + spread, bid_qty=5 + i % 3,
                               ask_qty=5 - i % 3))
        out.append(agg_trade(i + 1, ts + 10, qty=1.0 + (i % 5)))
    return out


def feed(buffer: ReorderBuffer, records: list[dict]) -> list[dict]:
    """Records through the buffer as the stage does (release after each), then flush."""
    out = []
    for i, record in enumerate(records):
        buffer.add((1, i), record)
        out.extend(buffer.release())
    return out + buffer.flush()


def interleave(records: list[dict], delays_ms: dict[str, int], seed: int) -> list[dict]:
    """One arrival order of `records`: per connection (aggTrade on /market, the rest on
    /public) its own delay and jitter, each connection's own order kept (as TCP keeps it)."""
    rng = random.Random(seed)
    last: dict[str, float] = {}
    arrivals = []
    for i, record in enumerate(records):
        route = "market" if record["stream"].endswith("@aggTrade") else "public"
        at = max(last.get(route, 0.0), record["recv_ms"] + delays_ms[route] + rng.random() * 40)
        last[route] = at
        arrivals.append((at, i, record))
    return [record for _, _, record in sorted(arrivals)]
