"""The reorder buffer: event-time order across streams, its tie-break, the watermark, late
records, the overflow bound and the commit position (orchestrator/signal/reorder.py)."""

from __future__ import annotations

import logging
import random

from orchestrator.handoff import HandoffReader, HandoffWriter
from orchestrator.signal.reorder import ReorderBuffer
from pytest_soak.replay_feed.generator import MarketGenerator
from tests.signal.market_events import T0, agg_trade, book_ticker, feed, interleave


def depth(update_id: int, ts_ms: int, symbol: str = "BTCUSDT") -> dict:
    return {"recv_ms": ts_ms + 2, "stream": f"{symbol.lower()}@depth@100ms", "data": {
        "e": "depthUpdate", "E": ts_ms + 1, "T": ts_ms, "s": symbol, "U": update_id,
        "u": update_id, "pu": update_id - 1, "b": [], "a": []}}


def ident(record: dict) -> tuple:
    data = record["data"]
    return data["e"], data["s"], data["a" if data["e"] == "aggTrade" else "u"]


def test_records_come_out_in_event_time_order_whatever_the_arrival_order():
    """Each stream arrives in its own order (as over one TCP connection); how the two streams
    interleave is random."""
    trades = [agg_trade(i, T0 + 100 * i) for i in range(1, 30)]
    quotes = [book_ticker(i, T0 + 100 * i + 50) for i in range(1, 30)]
    records = trades + quotes
    rng = random.Random(3)
    shuffled = []
    while trades or quotes:
        shuffled.append((trades if trades and (not quotes or rng.random() < 0.5)
                         else quotes).pop(0))
    assert shuffled != sorted(shuffled, key=lambda r: r["data"]["T"])
    buffer = ReorderBuffer(lateness_ms=10_000, max_events=1000)
    out = feed(buffer, shuffled)
    assert [r["data"]["T"] for r in out] == sorted(r["data"]["T"] for r in records)
    assert buffer.counters["late_events"] == 0


def test_equal_times_break_ties_by_kind_then_symbol_then_id():
    ts = T0 + 500
    records = [agg_trade(7, ts, symbol="ETHUSDT"), agg_trade(9, ts), agg_trade(8, ts),
               book_ticker(4, ts), depth(12, ts, "ETHUSDT"), depth(11, ts)]
    out = feed(ReorderBuffer(lateness_ms=100, max_events=100), records)
    assert [ident(r) for r in out] == [
        ("depthUpdate", "BTCUSDT", 11), ("depthUpdate", "ETHUSDT", 12),
        ("bookTicker", "BTCUSDT", 4),
        ("aggTrade", "BTCUSDT", 8), ("aggTrade", "BTCUSDT", 9), ("aggTrade", "ETHUSDT", 7)]


def test_a_record_is_held_until_the_watermark_passes_it():
    buffer = ReorderBuffer(lateness_ms=250, max_events=100)
    buffer.add((1, 0), agg_trade(1, T0))
    buffer.add((1, 1), agg_trade(2, T0 + 249))
    assert buffer.release() == [] and len(buffer) == 2
    buffer.add((1, 2), book_ticker(1, T0 + 250))     # watermark T0: the first one goes
    assert [ident(r) for r in buffer.release()] == [("aggTrade", "BTCUSDT", 1)]
    buffer.add((1, 3), book_ticker(2, T0 + 600))     # watermark T0 + 350
    assert [ident(r) for r in buffer.release()] == [("aggTrade", "BTCUSDT", 2),
                                                    ("bookTicker", "BTCUSDT", 1)]
    assert [ident(r) for r in buffer.flush()] == [("bookTicker", "BTCUSDT", 2)]


def test_late_records_are_applied_at_once_counted_and_logged_once(caplog):
    buffer = ReorderBuffer(lateness_ms=100, max_events=100)
    buffer.add((1, 0), agg_trade(1, T0))
    buffer.add((1, 1), agg_trade(2, T0 + 1000))
    assert len(buffer.release()) == 1                          # released up to T0 + 900
    with caplog.at_level(logging.WARNING, logger="orchestrator.signal.reorder"):
        buffer.add((1, 2), book_ticker(1, T0 - 5))              # behind the released trade
        buffer.add((1, 3), book_ticker(2, T0 - 4, symbol="ETHUSDT"))
        buffer.add((1, 4), book_ticker(3, T0 + 950))            # in time: held
    assert [ident(r) for r in buffer.release()] == [("bookTicker", "BTCUSDT", 1),
                                                    ("bookTicker", "ETHUSDT", 2)]
    assert buffer.counters["late_events"] == 2 and len(buffer) == 2
    warnings = [r for r in caplog.records if "behind the watermark" in r.getMessage()]
    assert len(warnings) == 1 and "'u': 1" in warnings[0].getMessage()


def test_a_streams_own_order_is_kept_when_its_time_steps_back():
    """Event time may step back inside one stream; its records keep their (id) order, so the
    engine's 'id <= last applied' rule never discards one."""
    records = [book_ticker(1, T0 + 100), book_ticker(2, T0 + 90), agg_trade(1, T0 + 95)]
    out = feed(ReorderBuffer(lateness_ms=1000, max_events=100), records)
    assert [ident(r) for r in out] == [("aggTrade", "BTCUSDT", 1), ("bookTicker", "BTCUSDT", 1),
                                       ("bookTicker", "BTCUSDT", 2)]


def test_keyless_records_pass_at_once_and_the_bound_releases_the_oldest():
    buffer = ReorderBuffer(lateness_ms=60_000, max_events=3)
    for i in range(5):
        buffer.add((1, i), agg_trade(10 - i, T0 + 10 - i, symbol=f"S{i}"))
    buffer.add((1, 5), {"recv_ms": 1, "stream": "x", "data": {"e": "aggTrade"}})
    out = buffer.release()
    assert out[0]["stream"] == "x"
    assert [r["data"]["T"] for r in out[1:]] == [T0 + 6, T0 + 7]
    assert buffer.counters["overflow_released"] == 2 and len(buffer) == 3


def test_commit_position_is_the_oldest_held_record_and_a_new_reader_reads_it_again(tmp_path):
    topic = tmp_path / "market"
    writer = HandoffWriter(topic)
    records = [agg_trade(1, T0 + 500), book_ticker(1, T0), agg_trade(2, T0 + 600),
               book_ticker(2, T0 + 1000)]
    for record in records:
        writer.append(record)
    writer.close()
    reader = HandoffReader(topic, "signal")
    buffer = ReorderBuffer(lateness_ms=450, max_events=100)
    for position, record in reader.read_positioned(10):
        buffer.add(position, record)
    released = buffer.release()                    # watermark T0 + 550
    assert [ident(r) for r in released] == [("bookTicker", "BTCUSDT", 1),
                                            ("aggTrade", "BTCUSDT", 1)]
    reader.commit(buffer.commit_position(reader.position))
    again = [record for _, record in HandoffReader(topic, "signal").read_positioned(10)]
    assert again == records[2:]                    # the held ones (and what followed them)
    buffer.flush()
    assert buffer.commit_position(reader.position) == reader.position


def test_two_interleavings_within_the_lateness_give_one_order():
    records = list(MarketGenerator(seed=8, symbols=2).records(1))
    one = interleave(records, {"market": 0, "public": 150}, seed=1)
    two = interleave(records, {"market": 150, "public": 0}, seed=2)
    assert one != two
    out_one = feed(ReorderBuffer(lateness_ms=400, max_events=10_000), one)
    out_two = feed(ReorderBuffer(lateness_ms=400, max_events=10_000), two)
    assert [ident(r) for r in out_one] == [ident(r) for r in out_two]
    assert len(out_one) == len(records)


class FakeClock:
    def __init__(self) -> None:
        self.s = 100.0

    def __call__(self) -> float:
        return self.s


def test_idle_release_frees_a_held_record_once_caught_up_in_key_order_never_behind():
    clock = FakeClock()
    buffer = ReorderBuffer(lateness_ms=250, max_events=100, idle_release_ms=40, clock=clock)
    buffer.add((1, 0), agg_trade(2, T0 + 10))
    clock.s += 0.03
    buffer.add((1, 1), book_ticker(1, T0))                # read later, smaller key
    clock.s += 0.02                                        # the trade: 50 ms, the quote: 20 ms
    assert buffer.release(caught_up=True) == []            # the quote holds the trade back
    clock.s += 0.021                                       # both held >= 40 ms now
    assert buffer.release(caught_up=False) == []           # reading a backlog: event time only
    assert [ident(r) for r in buffer.release(caught_up=True)] == [
        ("bookTicker", "BTCUSDT", 1), ("aggTrade", "BTCUSDT", 2)]
    assert buffer.counters["idle_released"] == 2 and buffer.counters["late_events"] == 0
    buffer.add((1, 2), agg_trade(3, T0 + 20))
    assert buffer.release(caught_up=True) == []            # just read: held
    off = ReorderBuffer(lateness_ms=250, max_events=100, clock=clock)   # no idle rule
    off.add((1, 0), agg_trade(1, T0))
    clock.s += 10
    assert off.release(caught_up=True) == [] and off.metrics()["idle_release_ms"] is None
