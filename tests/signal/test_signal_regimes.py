"""The signal's behaviour in the replay feed generator's regimes (what the soak's alerts use).

Per minute of event time, both symbols summed as the report's alert rules do:
normal: little low_consistency and a steady strong_ratio; choppy: low_consistency share above
80 % once the flows have disagreed for a while; quiet: no strong signal.
"""

from collections import Counter, defaultdict

import pytest

from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from pytest_soak.replay_feed import generator

SCHEDULE = [("normal", 420), ("choppy", 180), ("quiet", 180)]


@pytest.fixture(scope="module")
def minutes():
    gen = generator.MarketGenerator(seed=5, symbols=2)
    engine = SignalEngine(SignalConfig.from_section({}))
    out: dict[int, Counter] = defaultdict(Counter)
    for record in gen.records(13, SCHEDULE):
        row = engine.process(record)
        if row:
            minute = out[(row["ts_ms"] - gen.start_ms) // 60_000]
            minute["total"] += 1
            minute[row["gating"]] += 1
            minute["strong"] += row["strong"]
    return out


def share(counter, key):
    return counter[key] / counter["total"]


def test_realistic_signal_counts(minutes):
    # several trades/s per symbol: hundreds of signals per minute
    assert all(300 <= minutes[m]["total"] for m in range(7))


def test_normal_market_is_mostly_consistent_with_steady_strong_ratio(minutes):
    normal = range(1, 7)                                  # minute 0 is mostly warmup
    assert all(share(minutes[m], "low_consistency") < 0.5 for m in normal)
    ratios = sorted(share(minutes[m], "strong") for m in normal)
    median = ratios[len(ratios) // 2]
    assert median >= 0.05
    assert min(ratios) >= 0.5 * median                   # the collapse rule's own test


def test_choppy_market_is_mostly_low_consistency(minutes):
    assert max(share(minutes[m], "low_consistency") for m in (7, 8, 9)) > 0.8


def test_quiet_market_has_no_strong_signals(minutes):
    assert all(minutes[m]["strong"] == 0 for m in (11, 12))
    assert all(share(minutes[m], "low_activity") > 0.8 for m in (11, 12))
