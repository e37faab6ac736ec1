"""The executor interface and the paper executor (fills against the book the signal saw).

The broker stage talks to one `Executor`; a testnet or live executor implements the same
`submit` and slots in without touching the stage. `submit` is idempotent per
client_order_id: submitting a known id again returns the order the venue already has (as a
venue's duplicate-clientOrderId lookup would), so a retry after a transient failure never
creates a second order.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass


class TransientExecutorError(RuntimeError):
    """The venue did not answer (timeout, 5xx, sharing violation): retry the same order."""


@dataclass(frozen=True)
class Quote:
    bid_px: float
    ask_px: float
    ts_ms: int


@dataclass(frozen=True)
class OrderIntent:
    client_order_id: str
    symbol: str
    side: str                 # buy | sell
    qty: float                # aligned to the lot size
    px_intent: float          # decision price (mid)
    px_sent: float            # aligned to the tick size
    order_type: str           # market | limit
    sent_ts_ms: int           # event time the order leaves


@dataclass(frozen=True)
class Execution:
    client_order_id: str
    exchange_order_id: str
    latency_ms: float
    ack_ts_ms: int
    fill_ts_ms: int
    px_fill: float
    fill_qty: float
    liquidity: str            # maker | taker
    fee: float


@dataclass(frozen=True)
class LatencyModel:
    """Deterministic latency: base + jitter drawn from the order id (replays reproduce it)."""

    base_ms: float
    jitter_ms: float

    def latency_ms(self, client_order_id: str) -> float:
        digest = hashlib.sha256(client_order_id.encode()).digest()
        fraction = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
        return round(self.base_ms + self.jitter_ms * fraction, 3)


class Executor(ABC):
    @abstractmethod
    def submit(self, order: OrderIntent, quote: Quote) -> Execution:
        """Place `order`; raise TransientExecutorError when the outcome is unknown."""


class PaperExecutor(Executor):
    """Simulated venue: a market order takes the touch (taker); a limit order rests at
    px_sent and is assumed filled there (maker). Fees by liquidity side, in bps of notional."""

    def __init__(self, latency: LatencyModel, maker_fee_bps: float, taker_fee_bps: float,
                 price_decimals: dict[str, int] | None = None) -> None:
        self.latency = latency
        self.fee_bps = {"maker": maker_fee_bps, "taker": taker_fee_bps}
        self.price_decimals = price_decimals or {}
        self.orders: dict[str, Execution] = {}
        self.fail_next = 0            # fault injection: transient failures before accepting
        self.fail_after_accept = 0    # fault injection: accept, then lose the answer

    def submit(self, order: OrderIntent, quote: Quote) -> Execution:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise TransientExecutorError("paper venue: injected timeout before accept")
        known = self.orders.get(order.client_order_id)
        if known is not None:
            return known
        execution = self._fill(order, quote)
        self.orders[order.client_order_id] = execution
        if self.fail_after_accept > 0:
            self.fail_after_accept -= 1
            raise TransientExecutorError("paper venue: injected timeout after accept")
        return execution

    def _fill(self, order: OrderIntent, quote: Quote) -> Execution:
        latency = self.latency.latency_ms(order.client_order_id)
        ack_ts_ms = order.sent_ts_ms + int(round(latency))
        if order.order_type == "market":
            px_fill, liquidity = (quote.ask_px if order.side == "buy" else quote.bid_px), "taker"
        else:
            px_fill, liquidity = order.px_sent, "maker"
        decimals = self.price_decimals.get(order.symbol, 8)
        px_fill = round(px_fill, decimals)
        fee = round(order.qty * px_fill * self.fee_bps[liquidity] / 1e4, 8)
        return Execution(
            client_order_id=order.client_order_id,
            exchange_order_id=f"paper-{order.client_order_id}",
            latency_ms=latency, ack_ts_ms=ack_ts_ms, fill_ts_ms=ack_ts_ms, px_fill=px_fill,
            fill_qty=order.qty, liquidity=liquidity, fee=fee)
