"""The seeded generator: deterministic, realistic rates, consistent ids, a deep book."""

from __future__ import annotations

import collections

from pytest_soak.replay_feed import MarketGenerator, generate_recording, read_recording
from pytest_soak.replay_feed.market import MarketState, default_specs


def test_same_seed_same_recording_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl"
    assert generate_recording(a, seed=7, minutes=0.5) == generate_recording(b, seed=7, minutes=0.5)
    generate_recording(c, seed=8, minutes=0.5)
    assert list(read_recording(a)) == list(read_recording(b))
    assert list(read_recording(a)) != list(read_recording(c))


def test_rates_ids_and_book_are_realistic():
    records = list(MarketGenerator(3).records(2))
    per_s = collections.Counter(r["stream"] for r in records)
    for symbol in ("btcusdt", "ethusdt"):
        assert 8 <= per_s[f"{symbol}@depth@100ms"] / 120 <= 10.5
        assert 5 <= per_s[f"{symbol}@bookTicker"] / 120 <= 25
        assert 2 <= per_s[f"{symbol}@aggTrade"] / 120 <= 20
    last_u: dict[str, int] = {}
    last_agg: dict[str, int] = {}
    for record in records:
        data = record["data"]
        if data["e"] == "depthUpdate":
            if data["s"] in last_u:
                assert data["pu"] == last_u[data["s"]] and data["U"] > data["pu"]
            assert data["U"] <= data["u"]
            last_u[data["s"]] = data["u"]
        elif data["e"] == "aggTrade":
            assert data["a"] > last_agg.get(data["s"], 0) and data["f"] <= data["l"]
            last_agg[data["s"]] = data["a"]
        else:
            assert float(data["b"]) < float(data["a"])
    assert [r["recv_ms"] for r in records] == sorted(r["recv_ms"] for r in records)


def test_prices_are_on_the_tick_and_the_book_stays_deep():
    market = MarketState(default_specs(1)[0], __import__("random").Random(1))
    for window in range(600):
        market.step(window * 100)
        assert len(market.bids) >= 20 and len(market.asks) >= 20
        assert market.best("b") < market.best("a")
    assert market.px(600001) == "60000.1"


def test_regimes_shape_the_flow():
    """choppy: trade flow opposes the book's drift; quiet: fewer, smaller trades."""
    def trade_stats(regime: str) -> tuple[int, float]:
        gen = MarketGenerator(11, 1, regime=regime)
        trades = [r["data"] for r in gen.records(5) if r["data"]["e"] == "aggTrade"]
        return len(trades), sum(float(t["q"]) for t in trades) / max(1, len(trades))
    normal, quiet = trade_stats("normal"), trade_stats("quiet")
    assert quiet[0] < normal[0] * 0.6 and quiet[1] < normal[1]
