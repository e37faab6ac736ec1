"""Build executor_contract/v1 events (schemas/executor_contract_v1.schema.json)."""

from __future__ import annotations

from orchestrator.broker.executor import Execution, OrderIntent
from orchestrator.broker.precheck import gating_reason, is_warmup

CONTRACT_FIELDS = (
    "ts_ms", "symbol", "event", "status", "reason", "signal_row_id", "client_order_id", "side",
    "qty", "px_intent", "px_sent", "px_fill", "sent_ts_ms", "ack_ts_ms", "fill_ts_ms",
    "event_ts_ms", "exchange_order_id", "latency_ms", "slippage_bps", "rounding_diff",
    "warmup", "guard_reason", "consistency", "scenario", "regime", "fill_qty", "fee",
    "liquidity")


def _base(signal: dict, client_order_id: str, side: str | None) -> dict:
    event = dict.fromkeys(CONTRACT_FIELDS)
    consistency = signal.get("consistency")
    event.update({
        "symbol": signal["symbol"], "signal_row_id": str(signal["row_id"]),
        "client_order_id": client_order_id, "side": side,
        "event_ts_ms": int(signal["ts_ms"]), "warmup": is_warmup(signal),
        "guard_reason": gating_reason(signal),
        "consistency": None if consistency is None else min(1.0, max(0.0, float(consistency))),
        "scenario": signal.get("scenario"), "regime": signal.get("regime")})
    return event


def reject_event(signal: dict, client_order_id: str, side: str | None, reason: str) -> dict:
    event = _base(signal, client_order_id, side if side in ("buy", "sell") else None)
    event.update({"ts_ms": int(signal["ts_ms"]), "event": "reject", "status": "rejected",
                  "reason": reason})
    return event


def submit_event(signal: dict, order: OrderIntent, rounding_diff: float) -> dict:
    event = _base(signal, order.client_order_id, order.side)
    event.update({"ts_ms": order.sent_ts_ms, "event": "submit", "status": "submitted",
                  "qty": order.qty, "px_intent": order.px_intent, "px_sent": order.px_sent,
                  "sent_ts_ms": order.sent_ts_ms, "rounding_diff": rounding_diff})
    return event


def slippage_bps(side: str, px_intent: float, px_fill: float) -> float:
    """Adverse move from the intent price, in bps: positive means a worse price."""
    sign = 1.0 if side == "buy" else -1.0
    return round(sign * (px_fill - px_intent) / px_intent * 1e4, 4)


def fill_event(signal: dict, order: OrderIntent, execution: Execution,
               rounding_diff: float) -> dict:
    event = submit_event(signal, order, rounding_diff)
    event.update({
        "ts_ms": execution.fill_ts_ms, "event": "fill", "status": "filled",
        "px_fill": execution.px_fill, "ack_ts_ms": execution.ack_ts_ms,
        "fill_ts_ms": execution.fill_ts_ms, "exchange_order_id": execution.exchange_order_id,
        "latency_ms": execution.latency_ms,
        "slippage_bps": slippage_bps(order.side, order.px_intent, execution.px_fill),
        "fill_qty": execution.fill_qty, "fee": execution.fee, "liquidity": execution.liquidity})
    return event
