"""Signal rows for the sink and parity tests (the shape SignalEngine produces)."""

from __future__ import annotations

T0 = 1_767_225_600_000


def make_row(i: int, ts_ms: int | None = None, strong: bool | None = None,
             symbol: str = "BTCUSDT") -> dict:
    return {
        "row_id": f"{symbol}-{i}", "ts_ms": T0 + i * 100 if ts_ms is None else ts_ms,
        "symbol": symbol, "agg_id": i, "price": 60000.1, "mid_px": 60000.05,
        "spread_bps": 0.0167, "ofi": 1.5, "cvd": -0.25, "ofi_z": 0.8123, "cvd_z": -0.1,
        "score": 0.3561, "side": "buy", "consistency": 0.75, "confirm": i % 2 == 0,
        "strong": (i % 4 == 0) if strong is None else strong, "gating": "ok",
        "regime": "normal"}


def make_rows(count: int, start: int = 0) -> list[dict]:
    return [make_row(i) for i in range(start, start + count)]
