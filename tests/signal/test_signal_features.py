"""Features and gating on hand-computed cases (formulas: docs/signals.md)."""

import math

import pytest

from orchestrator.signal.config import SignalConfig
from orchestrator.signal.depth import DepthFlow
from orchestrator.signal.features import Quote, ofi_contribution, signed_trade_qty
from orchestrator.signal.gating import agreement, classify_regime, decide, gate, spread_bps
from orchestrator.signal.windows import RollingQuantile, RollingZ, WindowSum

CFG = SignalConfig.from_section({})
PREV = Quote(100.0, 5.0, 101.0, 7.0, 0)


@pytest.mark.parametrize("cur, expected", [
    (Quote(100.0, 8.0, 101.0, 7.0, 1), 3.0),     # bid size up 5 -> 8: +8 - 5
    (Quote(100.5, 2.0, 101.0, 7.0, 1), 2.0),     # bid price up: +new bid size only
    (Quote(99.5, 4.0, 101.0, 7.0, 1), -5.0),     # bid price down: -old bid size only
    (Quote(100.0, 5.0, 100.5, 3.0, 1), -3.0),    # ask price down: -new ask size
    (Quote(100.0, 5.0, 101.5, 6.0, 1), 7.0),     # ask price up: +old ask size
    (Quote(100.0, 5.0, 101.0, 4.0, 1), 3.0),     # ask size down 7 -> 4 (a taker buy): +3
])
def test_ofi_contribution_matches_cont_kukanov_stoikov(cur, expected):
    assert ofi_contribution(PREV, cur) == pytest.approx(expected)


def test_signed_trade_qty_uses_buyer_is_maker():
    assert signed_trade_qty(2.0, buyer_is_maker=False) == 2.0     # taker bought
    assert signed_trade_qty(2.0, buyer_is_maker=True) == -2.0     # taker sold


def test_window_sum_evicts_by_event_time():
    window = WindowSum(2000)
    for ts, value in ((0, 1.0), (1000, 2.0), (2500, 4.0)):
        window.add(ts, value)
        window.evict(ts)
    assert window.total == 6.0                # at 2500 the horizon is 500: t=0 has left
    window.evict(3000)                        # horizon 1000: t=1000 leaves too
    assert (window.total, len(window)) == (4.0, 1)
    window.evict(10_000)
    assert (window.total, len(window)) == (0.0, 0)


def test_rolling_z_samples_once_per_bucket():
    rolling = RollingZ(sample_ms=1000, max_samples=10)
    for ts, value in ((0, 1.0), (500, 99.0), (1000, 2.0), (2000, 3.0), (3000, 4.0)):
        rolling.observe(ts, value)            # t=500 is in the same bucket as t=0: ignored
    assert len(rolling) == 4
    assert rolling.mean == pytest.approx(2.5)
    assert rolling.std == pytest.approx(math.sqrt(1.25))
    assert rolling.z(5.0, clip=8) == pytest.approx(2.5 / math.sqrt(1.25))
    assert rolling.z(1000.0, clip=8) == 8.0   # clipped
    assert rolling.scaled(2.0, clip=8) == pytest.approx(2.0 / math.sqrt(1.25))


def test_rolling_z_window_drops_oldest_and_stays_exact():
    rolling = RollingZ(sample_ms=1, max_samples=3)
    for ts in range(1000):
        rolling.observe(ts, float(ts % 7))
    last = [float(ts % 7) for ts in range(997, 1000)]
    mean = sum(last) / 3
    assert rolling.mean == pytest.approx(mean)
    assert rolling.std == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in last) / 3))


def test_rolling_z_of_a_constant_history_is_zero():
    rolling = RollingZ(sample_ms=1, max_samples=5)
    for ts in range(5):
        rolling.observe(ts, 3.0)
    assert rolling.z(10.0, clip=8) == 0.0


def test_rolling_quantile_nearest_rank_and_expiry():
    quantile = RollingQuantile(window_ms=10_000, q=0.75)
    for ts, value in enumerate([5.0, 1.0, 8.0, 3.0, 2.0, 7.0, 4.0, 6.0]):
        quantile.add(ts * 1000, value)
    assert quantile.value() == 7.0            # sorted 1..8, rank int(0.75 * 8) = 6
    quantile.add(12_500, 0.5)                 # horizon 2500: drops 5.0, 1.0, 8.0
    assert sorted(quantile.ordered) == [0.5, 2.0, 3.0, 4.0, 6.0, 7.0]
    assert quantile.value() == 6.0


def test_depth_flow_counts_known_top_levels_only():
    flow = DepthFlow(levels=2)
    assert flow.apply([["100", "5"], ["99", "5"], ["98", "5"]], [["101", "7"], ["102", "7"]]) == 0
    # bid 100: 5 -> 8 (+3); bid 98 is outside the top 2 (not counted); ask 101: 7 -> 4 (+3)
    assert flow.apply([["100", "8"], ["98", "1"]], [["101", "4"]]) == pytest.approx(6.0)
    # ask 102 removed (-(0 - 7) * -1 = ... an ask cancel is buying pressure: +7)
    assert flow.apply([], [["102", "0"]]) == pytest.approx(7.0)
    assert 102.0 not in flow.asks


def test_agreement():
    assert agreement(2.0, 1.0) == pytest.approx(2 / 3)
    assert agreement(-1.5, -1.5) == 1.0
    assert agreement(-1.0, 1.0) == 0.0
    assert agreement(0.0, 0.0) == 0.0


def test_spread_bps():
    assert spread_bps(99.99, 100.01) == pytest.approx(2.0)


def _gate(**overrides):
    args = dict(warm=True, quote_age_ms=10, bid_px=100.0, ask_px=100.01, regime="normal",
                consistency=0.9, cfg=CFG)
    args.update(overrides)
    return gate(**args)


@pytest.mark.parametrize("overrides, reason", [
    ({}, "ok"),
    ({"warm": False}, "warmup"),
    ({"quote_age_ms": None}, "warmup"),
    ({"quote_age_ms": CFG.stale_ms + 1}, "stale_data"),
    ({"ask_px": 100.0}, "invalid_book"),
    ({"ask_px": 101.0}, "wide_spread"),                   # ~99.5 bps
    ({"regime": "quiet"}, "low_activity"),
    ({"consistency": CFG.min_consistency - 0.01}, "low_consistency"),
    ({"warm": False, "consistency": 0.0, "ask_px": 101.0}, "warmup"),        # precedence
    ({"quote_age_ms": 10**6, "consistency": 0.0}, "stale_data"),
])
def test_gate_reason_and_precedence(overrides, reason):
    assert _gate(**overrides) == reason


def test_decide_confirm_and_strong():
    assert decide("ok", 0.9, "normal", 0.8, CFG) == (True, True)
    assert decide("ok", -0.9, "normal", 0.8, CFG) == (True, True)
    assert decide("ok", 0.7, "normal", 0.8, CFG) == (True, False)       # below the quantile
    assert decide("ok", CFG.confirm_z / 2, "normal", 0.0, CFG) == (False, False)
    assert decide("low_consistency", 3.0, "normal", 0.8, CFG) == (False, False)
    assert decide("ok", 3.0, "normal", None, CFG) == (True, False)


def test_regime_classification():
    assert classify_regime(False, 1.0, 0.9, CFG) == "warmup"
    assert classify_regime(True, 0.1, 0.9, CFG) == "quiet"
    assert classify_regime(True, 1.0, 0.05, CFG) == "choppy"
    assert classify_regime(True, 3.0, 0.9, CFG) == "active"
    assert classify_regime(True, 1.0, 0.9, CFG) == "normal"
