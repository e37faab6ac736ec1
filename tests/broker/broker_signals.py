"""Signal records as the signal stage writes them (orchestrator/signal/engine.py)."""

from __future__ import annotations

from orchestrator.broker.config import broker_section
from orchestrator.broker.core import BrokerSettings

BASE_TS_MS = 1_763_700_000_000


def make_signal(agg_id: int, ts_ms: int | None = None, symbol: str = "BTCUSDT",
                side: str = "buy", mid_px: float | None = 90000.05, spread_bps: float = 0.0111,
                **overrides) -> dict:
    row = {"row_id": f"{symbol}-{agg_id}", "ts_ms": BASE_TS_MS + agg_id * 1000
           if ts_ms is None else ts_ms, "symbol": symbol, "agg_id": agg_id,
           "price": 90000.1, "mid_px": mid_px, "spread_bps": spread_bps, "ofi": 1.0,
           "cvd": 2.0, "ofi_z": 2.5, "cvd_z": 2.1, "score": 2.3 if side == "buy" else -2.3,
           "side": side, "consistency": 0.8, "confirm": True, "strong": False,
           "gating": "ok", "regime": "normal"}
    row.update(overrides)
    return row


def settings(**overrides) -> BrokerSettings:
    return BrokerSettings.from_config(broker_section({"broker": overrides}))
