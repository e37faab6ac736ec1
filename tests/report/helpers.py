"""Crafted signal streams for the report tests."""

from __future__ import annotations

from orchestrator.report.aggregates import MINUTE_MS

T0 = 1_763_700_000_000 - 1_763_700_000_000 % MINUTE_MS
SYMBOLS = ("BTCUSDT", "ETHUSDT")
REASONS = ("ok", "warmup", "low_consistency", "wide_spread")


def minute_signals(i: int, per_symbol: int = 6) -> list[dict]:
    """Deterministic signals of minute i: counts, flags and reasons vary with i."""
    out = []
    for s, symbol in enumerate(SYMBOLS):
        for k in range(per_symbol + (i + s) % 3):
            ts = T0 + i * MINUTE_MS + 1_000 + k * 5_000
            out.append({"ts_ms": ts, "symbol": symbol, "row_id": f"{symbol}-{i}-{k}",
                        "confirm": k % 2 == 0, "strong": k % 3 == 0,
                        "gating": REASONS[(i + k) % len(REASONS)],
                        "consistency": 0.5, "regime": "normal"})
    return out


def expected_minute(i: int) -> dict[str, dict]:
    """Per symbol: total, confirm, strong, gating counts of minute i."""
    out: dict[str, dict] = {}
    for sig in minute_signals(i):
        e = out.setdefault(sig["symbol"], {"total": 0, "confirm": 0, "strong": 0, "gating": {}})
        e["total"] += 1
        e["confirm"] += sig["confirm"]
        e["strong"] += sig["strong"]
        e["gating"][sig["gating"]] = e["gating"].get(sig["gating"], 0) + 1
    return out

