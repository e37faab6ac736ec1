"""Alignment, precheck and throttle, slippage, fees, latency: the broker's small parts."""

from __future__ import annotations

import pytest

from orchestrator.broker.events import slippage_bps
from orchestrator.broker.executor import LatencyModel, OrderIntent, PaperExecutor, Quote
from orchestrator.broker.instruments import Instrument
from orchestrator.broker.precheck import Precheck, Throttle
from tests.broker.broker_signals import make_signal

BTC = Instrument("BTCUSDT", 0.1, 0.001)
ETH = Instrument("ETHUSDT", 0.01, 0.001)


@pytest.mark.parametrize(("price", "mode", "expected"), [
    (90000.04, "nearest", 90000.0), (90000.06, "nearest", 90000.1),
    (90000.09, "down", 90000.0), (90000.01, "up", 90000.1), (0.3, "down", 0.3),
    (90000.1, "up", 90000.1)])
def test_price_alignment_to_the_tick(price: float, mode: str, expected: float) -> None:
    assert BTC.align_price(price, mode) == expected


def test_eth_tick_and_lot_alignment() -> None:
    assert ETH.align_price(3012.3456) == 3012.35
    assert ETH.align_qty(1000 / 3012.35) == 0.331
    assert BTC.align_qty(1000 / 90000.05) == 0.011
    assert BTC.align_qty(0.0009) == 0.0


def _precheck(rate: float = 2, only_strong: bool = False) -> Precheck:
    return Precheck(Throttle(rate), {"BTCUSDT", "ETHUSDT"}, only_strong)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"regime": "warmup", "gating": "warmup"}, "warmup"),
    ({"warmup": True}, "warmup"),
    ({"gating": "wide_spread"}, "guard:wide_spread"),
    ({"gating": None, "reason": "stale_data"}, "guard:stale_data"),
    ({"side": "flat"}, "no_side"),
    ({"symbol": "DOGEUSDT"}, "unknown_symbol"),
])
def test_precheck_refusals(overrides: dict, reason: str) -> None:
    decision = _precheck().check(make_signal(1, **overrides))
    assert (decision.allowed, decision.reason) == (False, reason)


def test_gating_under_the_name_reason_is_understood() -> None:
    signal = make_signal(1)
    del signal["gating"]
    signal["reason"] = "ok"
    assert _precheck().check(signal).allowed


def test_only_confirmed_and_optionally_only_strong_signals_are_eligible() -> None:
    assert _precheck().eligible(make_signal(1))
    assert not _precheck().eligible(make_signal(1, confirm=False))
    assert not _precheck(only_strong=True).eligible(make_signal(1))
    assert _precheck(only_strong=True).eligible(make_signal(1, strong=True))


def test_throttle_per_symbol_per_second_of_event_time() -> None:
    throttle = Throttle(2)
    assert [throttle.allow("BTCUSDT", t) for t in (0, 100, 200, 999, 1000, 1100, 1101)] == \
        [True, True, False, False, True, True, False]
    assert throttle.allow("ETHUSDT", 200)  # another symbol has its own budget
    assert all(Throttle(0).allow("BTCUSDT", 5) for _ in range(100))


def test_slippage_is_positive_when_the_fill_is_worse() -> None:
    assert slippage_bps("buy", 100.0, 100.01) == pytest.approx(1.0)
    assert slippage_bps("sell", 100.0, 99.99) == pytest.approx(1.0)
    assert slippage_bps("sell", 100.0, 100.01) == pytest.approx(-1.0)


def _order(side: str, order_type: str = "market", px_sent: float = 90000.1) -> OrderIntent:
    return OrderIntent("soak-x", "BTCUSDT", side, 0.011, 90000.05, px_sent, order_type, 1000)


def test_paper_fill_taker_at_the_touch_maker_at_the_limit() -> None:
    venue = PaperExecutor(LatencyModel(20, 0), maker_fee_bps=2.0, taker_fee_bps=4.0,
                          price_decimals={"BTCUSDT": 1})
    quote = Quote(90000.0, 90000.1, 1000)
    buy = venue.submit(_order("buy"), quote)
    assert (buy.px_fill, buy.liquidity, buy.ack_ts_ms) == (90000.1, "taker", 1020)
    assert buy.fee == pytest.approx(0.011 * 90000.1 * 4.0 / 1e4)
    sell = PaperExecutor(LatencyModel(20, 0), 2.0, 4.0).submit(_order("sell"), quote)
    assert sell.px_fill == 90000.0
    limit = PaperExecutor(LatencyModel(20, 0), 2.0, 4.0).submit(
        _order("buy", "limit", 90000.0), quote)
    assert (limit.px_fill, limit.liquidity) == (90000.0, "maker")
    assert limit.fee == pytest.approx(0.011 * 90000.0 * 2.0 / 1e4)


def test_latency_is_deterministic_per_order_and_within_the_model() -> None:
    model = LatencyModel(20, 30)
    values = [model.latency_ms(f"soak-{i}") for i in range(200)]
    assert values == [model.latency_ms(f"soak-{i}") for i in range(200)]
    assert all(20 <= v <= 50 for v in values) and len(set(values)) > 100
