"""gap: the next depth diff of `symbol` skips `skip` update ids (pu != previous u)."""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.faults.base import FaultError, require


def handle(ctl: Any, action: str, params: dict) -> dict:
    engine = ctl.engine
    symbol = require(params, "symbol").upper()
    if symbol not in engine.books:
        raise FaultError(f"unknown symbol {symbol!r}")
    skip = int(params.get("skip", 10))
    engine.pending_gap[symbol] = engine.pending_gap.get(symbol, 0) + skip
    return {"action": "inject"}
