"""The broker's logic, free of the stage loop: one signal in, its contract events out.

For a confirmed signal: precheck (warmup, guard reason, throttle) -> size and align the order
(tick, lot) -> one `submit` event -> executor (retried with backoff) -> one `fill` event; a
refusal is one `reject` event. The touch the order fills against is the one the signal saw
(`mid_px` and `spread_bps` of the signal record, event-time aligned, no look-ahead); without
them the trade price is used with a one-tick spread.

Idempotency: `client_order_id` is a hash of the signal's identity. At start the broker reads
what `ready/` already holds (the outbox has just recovered its spool into it): an order with a
terminal event (fill/reject) is never redone; one with only its submit is resumed without a
second submit event.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.broker.events import fill_event, reject_event, submit_event
from orchestrator.broker.executor import (
    Executor,
    LatencyModel,
    OrderIntent,
    PaperExecutor,
    Quote,
    TransientExecutorError,
)
from orchestrator.broker.instruments import Instrument, instruments_from_config
from orchestrator.broker.metrics import BrokerMetrics
from orchestrator.broker.precheck import SIDES, Precheck, Throttle
from orchestrator.broker.retry import RetryPolicy, submit_with_retry
from orchestrator.outbox import Outbox
from pytest_soak_evidence.orders import TERMINAL_EVENTS, client_order_id
from pytest_soak_evidence.outbox import iter_events
from pytest_soak_evidence.schemas import violations

log = logging.getLogger(__name__)
VALIDATE_FIRST = 1000  # schema validation costs ~0.5 ms an event: check all early, then sample


@dataclass
class BrokerSettings:
    """The `broker` section, typed (its defaults: config/defaults.yaml)."""

    instruments: dict[str, Instrument]
    order_notional_usd: float
    order_type: str
    maker_fee_bps: float
    taker_fee_bps: float
    latency: LatencyModel
    throttle_orders_per_s: float
    only_strong: bool
    retry: RetryPolicy
    validate_every_n: int          # 1: every event; 0: none; the first VALIDATE_FIRST always

    @classmethod
    def from_config(cls, section: dict) -> BrokerSettings:
        lat, fees, retry = section["latency"], section["fees_bps"], section["retry"]
        return cls(
            instruments=instruments_from_config(section["instruments"]),
            order_notional_usd=float(section["order_notional_usd"]),
            order_type=section["order_type"],
            maker_fee_bps=float(fees["maker"]), taker_fee_bps=float(fees["taker"]),
            latency=LatencyModel(float(lat["base_ms"]), float(lat["jitter_ms"])),
            throttle_orders_per_s=float(section["throttle_orders_per_s"]),
            only_strong=bool(section["only_strong"]),
            retry=RetryPolicy(int(retry["attempts"]), float(retry["initial_delay_s"]),
                              float(retry["factor"]), float(retry["max_delay_s"])),
            validate_every_n=int(section["validate_every_n"]))


def quote_from_signal(signal: dict, instrument: Instrument) -> Quote | None:
    """The best bid/ask the signal saw, back on the tick grid."""
    ts_ms = int(signal["ts_ms"])
    mid, spread = signal.get("mid_px"), signal.get("spread_bps")
    if mid and spread is not None and mid > 0:
        half = mid * float(spread) / 2e4
        bid = instrument.align_price(mid - half)
        ask = max(instrument.align_price(mid + half), bid + instrument.tick_size)
        return Quote(bid, instrument.align_price(ask), ts_ms)
    price = signal.get("price") or mid
    if not price or price <= 0:
        return None
    bid = instrument.align_price(price, "down")
    return Quote(bid, instrument.align_price(bid + instrument.tick_size), ts_ms)


class Broker:
    def __init__(self, settings: BrokerSettings, outbox: Outbox, executor: Executor | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.outbox = outbox
        self.executor = executor or PaperExecutor(
            settings.latency, settings.maker_fee_bps, settings.taker_fee_bps,
            {s: i.price_decimals() for s, i in settings.instruments.items()})
        self.precheck = Precheck(Throttle(settings.throttle_orders_per_s),
                                 set(settings.instruments), settings.only_strong)
        self.metrics = BrokerMetrics()
        self.sleep = sleep
        self.done: set[str] = set()        # orders with a terminal event in the outbox
        self.submitted: set[str] = set()   # orders whose submit event is in the outbox
        self.malformed_signals = 0
        self.invalid_events = 0
        self.events_built = 0
        # Cumulative over restarts (seeded from ready/): what the outbox holds, by event type
        # and by reject reason, so a reader can reconcile the files against these counts.
        self.written: Counter[str] = Counter()
        self.rejects_by_reason: Counter[str] = Counter()
        self.load_history(outbox.ready)

    def load_history(self, ready_dir: Path) -> None:
        for event in iter_events(ready_dir):
            self._count_written(event)
            coid = event.get("client_order_id")
            if event.get("event") in TERMINAL_EVENTS:
                self.done.add(coid)
            elif event.get("event") == "submit":
                self.submitted.add(coid)
        self.submitted -= self.done
        self.known_at_start = len(self.done)

    # ---- one signal ------------------------------------------------------------------------
    def handle(self, signal: dict) -> list[dict]:
        """Process one signal record; the events written to the outbox."""
        self.metrics.totals["signals_read"] += 1
        if not isinstance(signal, dict):
            return self._malformed(signal, TypeError("a signal record must be a JSON object"))
        try:
            if not self.precheck.eligible(signal):
                return []
            coid = client_order_id(signal)
        except (KeyError, TypeError, ValueError) as exc:
            return self._malformed(signal, exc)
        if coid in self.done:
            self.metrics.totals["duplicates_skipped"] += 1
            return []
        self.metrics.totals["signals_eligible"] += 1
        try:
            events = self._execute(signal, coid)
        except (KeyError, TypeError, ValueError) as exc:
            return self._malformed(signal, exc)
        written = [event for event in events if self._write(event)]
        self.done.add(coid)
        self.submitted.discard(coid)
        return written

    def _execute(self, signal: dict, coid: str) -> list[dict]:
        side = SIDES.get(signal.get("side"))
        decision = self.precheck.check(signal)
        if not decision.allowed:
            return [self._reject(signal, coid, side, decision.reason)]
        instrument = self.settings.instruments[signal["symbol"]]
        quote = quote_from_signal(signal, instrument)
        if quote is None:
            return [self._reject(signal, coid, side, "no_book")]
        order, rounding_diff = self._order(signal, coid, side, instrument, quote)
        if order.qty <= 0:
            return [self._reject(signal, coid, side, "qty_below_lot")]
        events = []
        if coid in self.submitted:
            self.metrics.totals["resumed_orders"] += 1
        else:
            events.append(submit_event(signal, order, rounding_diff))
        try:
            execution, retries = submit_with_retry(self.executor, order, quote,
                                                   self.settings.retry, self.sleep)
        except TransientExecutorError as exc:
            log.warning("executor gave up on %s: %s", coid, exc)
            self.metrics.totals["executor_errors"] += 1
            self.metrics.on_submit(order.symbol, "error", None)
            return events + [self._reject(signal, coid, side, "executor_error")]
        self.metrics.totals["retries"] += retries
        self.metrics.on_submit(order.symbol, "filled", execution.latency_ms)
        return events + [fill_event(signal, order, execution, rounding_diff)]

    def _order(self, signal: dict, coid: str, side: str, instrument: Instrument,
               quote: Quote) -> tuple[OrderIntent, float]:
        px_intent = round((quote.bid_px + quote.ask_px) / 2.0, instrument.price_decimals() + 1)
        if self.settings.order_type == "market":  # a marketable price: the touch
            px_sent = quote.ask_px if side == "buy" else quote.bid_px
        else:                                      # a passive limit on the tick grid
            px_sent = instrument.align_price(px_intent, "down" if side == "buy" else "up")
        qty_intent = self.settings.order_notional_usd / px_intent
        qty = instrument.align_qty(qty_intent)
        order = OrderIntent(coid, instrument.symbol, side, qty, px_intent, px_sent,
                            self.settings.order_type, int(signal["ts_ms"]))
        return order, round(qty - qty_intent, 12)

    def _reject(self, signal: dict, coid: str, side: str | None, reason: str) -> dict:
        self.metrics.on_reject(signal["symbol"], reason)
        return reject_event(signal, coid, side, reason)

    def _should_validate(self) -> bool:
        self.events_built += 1
        every = self.settings.validate_every_n
        return every > 0 and (self.events_built <= VALIDATE_FIRST or self.events_built % every == 0)

    def _write(self, event: dict) -> bool:
        if self._should_validate():
            found = violations(event, "executor_contract_v1")
            if found:
                self.invalid_events += 1
                if self.invalid_events == 1:
                    log.error("broker: an event breaks executor_contract/v1 and is not written"
                              " (logged once): %s; event=%r", found[:3], event)
                return False
        self.outbox.append(event)
        self._count_written(event)
        return True

    def _count_written(self, event: dict) -> None:
        kind = event.get("event")
        self.written[kind] += 1
        if kind == "reject":
            reason = str(event.get("reason"))
            self.rejects_by_reason["guard" if reason.startswith("guard:") else reason] += 1

    def _malformed(self, signal: object, exc: Exception) -> list[dict]:
        self.malformed_signals += 1
        if self.malformed_signals == 1:
            log.error("broker: malformed signal skipped (logged once, counted after): %r: %r",
                      exc, repr(signal)[:500])
        return []
