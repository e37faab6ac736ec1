"""A valid executor_contract/v1 event for outbox tests (shared by the crash writer), and an
outbox with the configured settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.config import section
from orchestrator.outbox import Outbox, outbox_settings

BASE_TS_MS = 1_763_700_000_000  # a minute boundary: 2025-11-21T04:40:00Z


def make_event(seq: int, ts_ms: int) -> dict:
    return {
        "ts_ms": ts_ms, "symbol": "BTCUSDT", "event": "submit", "status": "submitted",
        "reason": None, "signal_row_id": f"row-{seq}", "client_order_id": f"c{seq:08d}",
        "side": "buy" if seq % 2 else "sell", "qty": 0.012, "px_intent": 90000.05,
        "px_sent": 90000.1, "px_fill": None, "sent_ts_ms": ts_ms, "ack_ts_ms": None,
        "fill_ts_ms": None, "event_ts_ms": ts_ms, "exchange_order_id": None,
        "latency_ms": None, "slippage_bps": None, "rounding_diff": -0.0003, "warmup": False,
        "guard_reason": None, "consistency": 0.7, "scenario": None, "regime": "normal",
        "fill_qty": None, "fee": None, "liquidity": None,
    }


def seq_of(event: dict) -> int:
    return int(event["client_order_id"][1:])


def make_outbox(root: Path | str, **overrides: Any) -> Outbox:
    """An Outbox with config/defaults.yaml's `outbox` settings, `overrides` on top."""
    return Outbox(root, **{**outbox_settings(section({}, "outbox")), **overrides})
