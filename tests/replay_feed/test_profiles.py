"""Generator profiles: each yields the per-stream rates it claims, deterministically per seed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from pytest_soak.replay_feed.generator import MarketGenerator, handoff_per_market_s
from pytest_soak.replay_feed.market import PROFILES, profile_named

MINUTES = 2.0
SEEDS = (1, 2)
TOLERANCE = 0.10      # a measured rate within 10 % of the claim (trade bursts make it noisy)


def _rates(profile: str, regime: str = "normal", minutes: float = MINUTES) -> dict[str, float]:
    """Events per market second per symbol, by stream kind, over SEEDS x `minutes`."""
    counts: Counter[str] = Counter()
    for seed in SEEDS:
        for record in MarketGenerator(seed, 2, regime=regime, profile=profile).records(minutes):
            counts[record["stream"].split("@", 1)[1]] += 1
    return {kind: n / (len(SEEDS) * 2 * minutes * 60) for kind, n in counts.items()}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_yields_the_rates_it_claims(name: str) -> None:
    measured = _rates(name)
    for kind, claimed in profile_named(name).rates_per_s.items():
        assert measured[kind] == pytest.approx(claimed, rel=TOLERANCE), (kind, measured)


def test_the_real_profile_is_the_real_capture_and_light_is_a_seventh_of_it() -> None:
    real, light = profile_named("real"), profile_named("light")
    # fixtures/market/binance_usdm_20240808_45s.jsonl.gz, both symbols: 406 events/s
    assert real.events_per_s * 2 == pytest.approx(406.0, rel=0.01)
    assert light.events_per_s * 2 < real.events_per_s * 2 / 6


def _digest(seed: int, profile: str) -> str:
    text = json.dumps(list(MarketGenerator(seed, 2, profile=profile).records(0.2)))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_is_deterministic_per_seed(name: str) -> None:
    assert _digest(5, name) == _digest(5, name)
    assert _digest(5, name) != _digest(6, name)


def test_budget_covers_the_busiest_regime_the_default_schedule_uses() -> None:
    """The choppy regime lasts market minutes: its mean must stay under the budget, or it
    would fill the queue (only the burst fault may)."""
    for name in sorted(PROFILES):
        choppy = sum(_rates(name, "choppy", 0.5).values()) * 2
        assert choppy < handoff_per_market_s(name), (name, choppy)


def test_unknown_profile_is_named() -> None:
    with pytest.raises(ValueError, match="unknown market profile 'busy'"):
        MarketGenerator(1, profile="busy")
