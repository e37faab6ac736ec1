"""SignalEngine on crafted and generated event sequences."""

import json
from collections import Counter

from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from orchestrator.sinks.base import SIGNAL_FIELDS
from tests.signal.market_events import T0, agg_trade, book_ticker, steady_market

CFG = SignalConfig.from_section({})


def run(records, engine=None):
    engine = engine or SignalEngine(CFG)
    return engine, [row for row in map(engine.process, records) if row is not None]


def test_one_signal_per_aggtrade_with_deterministic_row_id():
    engine, rows = run(steady_market(5))
    assert len(rows) == 20
    assert [r["row_id"] for r in rows] == [f"BTCUSDT-{i}" for i in range(1, 21)]
    assert all(tuple(r) == SIGNAL_FIELDS for r in rows)
    assert rows[0]["ts_ms"] == T0 + 10           # the trade's exchange time T, not the clock
    assert engine.aggtrade_ids == {"BTCUSDT": {"first": 1, "last": 20, "count": 20}}
    _, again = run(steady_market(5))
    assert again == rows                         # same input, same rows


def test_no_trades_no_signals():
    quotes = [book_ticker(i, T0 + i * 100) for i in range(1, 500)]
    engine, rows = run(quotes)
    assert rows == []
    assert engine.counters["bookTicker"] == 499


def test_warmup_then_ok_gating():
    _, rows = run(steady_market(60))
    # one z sample per second of event time: the first warmup_samples seconds are warmup
    warm = [r for r in rows if r["gating"] == "warmup"]
    assert warm and all(r["ts_ms"] < T0 + (CFG.warmup_samples + 1) * 1000 for r in warm)
    assert rows[-1]["gating"] != "warmup"
    assert all(0.0 <= r["consistency"] <= 1.0 for r in rows)


def test_stale_quote_gates_stale_data():
    records = steady_market(40)
    last_ts = records[-1]["data"]["T"]
    records += [agg_trade(161 + i, last_ts + CFG.stale_ms + 100 * (i + 1)) for i in range(3)]
    _, rows = run(records)
    assert [r["gating"] for r in rows[-3:]] == ["stale_data"] * 3


def test_wide_spread_gating():
    _, rows = run(steady_market(40, spread=1.0))          # 100 bps
    assert Counter(r["gating"] for r in rows) == Counter(
        {"warmup": sum(r["gating"] == "warmup" for r in rows),
         "wide_spread": sum(r["gating"] != "warmup" for r in rows)})
    assert rows[-1]["spread_bps"] == 100.0


def test_sides_follow_the_flow():
    records = steady_market(40)
    last = records[-1]["data"]["T"]
    # a burst of taker sells against the buying history drives cvd_z and the score negative
    records += [agg_trade(161 + i, last + 10 * (i + 1), qty=50, buyer_is_maker=True)
                for i in range(20)]
    _, rows = run(records)
    assert rows[-1]["cvd_z"] < 0 and rows[-1]["side"] == "sell"


def test_malformed_records_are_counted_and_survived(caplog):
    bad = [{"data": {"e": "aggTrade", "s": "BTCUSDT"}}, "not a dict", {"nodata": 1},
           {"data": {**agg_trade(7, T0)["data"], "q": "abc"}},
           {"data": {**agg_trade(8, T0)["data"], "m": "yes"}}]
    engine, rows = run(bad + steady_market(2))
    assert engine.counters["malformed"] == 5
    assert len(rows) == 8
    assert sum("malformed market record" in r.message for r in caplog.records) == 1


def test_checkpoint_restore_gives_identical_rows_and_skips_replayed_events():
    records = steady_market(90)
    _, expected = run(records)
    cut = len(records) // 2
    first, rows_a = run(records[:cut])
    state = json.loads(json.dumps(first.to_state()))     # through JSON, like the checkpoint file
    restored = SignalEngine(CFG)
    restored.load_state(state)
    # a restarted stage may re-read events the checkpoint already holds: they are skipped
    _, rows_b = run(records[cut - 10:], restored)
    assert rows_a + rows_b == expected
    assert restored.counters["replayed_skipped"] == 10
    assert restored.aggtrade_ids == {"BTCUSDT": {"first": 1, "last": 360, "count": 360}}


def test_runtime_state_reports_mode_warmup_and_last_z():
    engine, rows = run(steady_market(10))
    state = engine.runtime_state()
    assert state["mode"] == "replay"
    btc = state["symbols"]["BTCUSDT"]
    assert btc["warmup"] is True and btc["warmup_required"] == CFG.warmup_samples
    assert btc["ofi_z"] == rows[-1]["ofi_z"] and btc["cvd_z"] == rows[-1]["cvd_z"]


def test_checkpoint_restore_is_float_exact_on_generated_market():
    from pytest_soak.replay_feed.generator import MarketGenerator
    records = list(MarketGenerator(seed=3, symbols=2).records(2))
    _, expected = run(records)
    cut = len(records) * 2 // 3
    first, rows_a = run(records[:cut])
    restored = SignalEngine(CFG)
    restored.load_state(json.loads(json.dumps(first.to_state())))
    _, rows_b = run(records[cut:], restored)
    assert rows_a + rows_b == expected                   # exact floats, not approximately


def test_a_trade_gap_skips_to_a_point_fixed_by_the_trade_before_it():
    """Two runs lose the trades after id 160 for different spans (a reconnect that took 1 s
    or 3 s): from the end of the skip on, their signals are identical."""
    base = steady_market(40)                        # ids 1..160, 250 ms apart
    last = base[-1]["data"]["T"]
    after = steady_market(60, start_ms=last + 250)  # ids 1..240 again: renumbered below
    for r in after:
        if r["data"]["e"] == "aggTrade":
            r["data"]["a"] += 160
        else:
            r["data"]["u"] += 160

    def lose(seconds: float) -> list[dict]:
        cut = last + seconds * 1000
        return base + [r for r in after if r["data"]["T"] >= cut]

    (eng_a, rows_a), (eng_b, rows_b) = run(lose(1)), run(lose(3))
    assert eng_a.counters["trade_gaps"] == eng_b.counters["trade_gaps"] == 1
    until = last + CFG.trade_gap_settle_ms
    late_a = [r for r in rows_a if r["ts_ms"] >= until]
    late_b = [r for r in rows_b if r["ts_ms"] >= until]
    assert late_a and late_a == late_b
    assert not [r for r in rows_a if last < r["ts_ms"] < until]          # skipped
    # without the rule (settle 0: nothing skipped) the same two inputs give different signals
    bare = SignalConfig.from_section({"trade_gap_settle_ms": 0})
    rows_a0 = run(lose(1), SignalEngine(bare))[1]
    rows_b0 = run(lose(3), SignalEngine(bare))[1]
    assert [r for r in rows_a0 if r["ts_ms"] >= until] != [r for r in rows_b0
                                                            if r["ts_ms"] >= until]
