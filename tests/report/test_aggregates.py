from __future__ import annotations

from orchestrator.report.aggregates import MINUTE_MS, MinuteAggregator, gating_reasons

T0 = 1_700_000_040_000


def sig(ts, symbol="BTCUSDT", row_id=None, **kw):
    return {"ts_ms": ts, "symbol": symbol, "row_id": row_id or f"{symbol}-{ts}", **kw}


def test_minute_closes_only_after_lateness_and_counts_fields():
    agg = MinuteAggregator(["BTCUSDT", "ETHUSDT"], lateness_ms=5_000)
    agg.add(sig(T0 + 1, confirm=True, strong=True, gating=None))
    agg.add(sig(T0 + 2, confirm=True, strong=False, reason="low_consistency"))
    agg.add(sig(T0 + 3, confirm=False, strong=False, gating="warmup,low_consistency"))
    agg.add(sig(T0 + MINUTE_MS + 4_999))
    assert agg.close_ready() == []                          # 4.999 s past: not yet
    agg.add(sig(T0 + MINUTE_MS + 5_000, symbol="ETHUSDT"))
    [closed] = agg.close_ready()
    btc, eth = closed.by_symbol["BTCUSDT"], closed.by_symbol["ETHUSDT"]
    assert (btc.total, btc.confirm, btc.strong, btc.low_consistency) == (3, 2, 1, 2)
    assert btc.gating == {"none": 1, "low_consistency": 2, "warmup": 1}
    assert abs(btc.strong_ratio - 1 / 3) < 1e-12 and abs(btc.low_consistency_share - 2 / 3) < 1e-12
    assert eth.total == 0 and eth.strong_ratio == 0.0       # zero-count minute for ETH


def test_late_duplicate_and_bad_records_are_counted_not_aggregated():
    agg = MinuteAggregator(["BTCUSDT"], lateness_ms=0)
    agg.add(sig(T0, row_id="x"))
    assert not agg.add(sig(T0 + 1, row_id="x"))             # re-read after a restart
    agg.add(sig(T0 + MINUTE_MS))
    agg.close_ready()
    assert not agg.add(sig(T0 + 10))                        # minute already final
    assert not agg.add({"symbol": "BTCUSDT"})
    assert (agg.duplicate_records, agg.late_records, agg.bad_records) == (1, 1, 1)


def test_close_all_marks_the_last_unfinished_minute_partial():
    agg = MinuteAggregator(["BTCUSDT"], lateness_ms=10_000)
    agg.add(sig(T0))
    agg.add(sig(T0 + MINUTE_MS + 100))
    closed = agg.close_all()
    assert [(c.minute_ms, c.partial, c.combined.total) for c in closed] == [
        (T0 - T0 % MINUTE_MS, False, 1), (T0 - T0 % MINUTE_MS + MINUTE_MS, True, 1)]


def test_gating_reason_shapes():
    assert gating_reasons({"gating": ["a", "b"]}) == ["a", "b"]
    assert gating_reasons({"reason": ""}) == ["none"]
    assert gating_reasons({}) == ["none"]
