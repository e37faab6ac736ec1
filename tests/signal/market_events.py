"""Hand-made Binance USDⓈ-M handoff records for the signal tests."""

from __future__ import annotations

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
