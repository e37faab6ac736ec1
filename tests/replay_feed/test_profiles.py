"""Generator profiles: each yields the per-stream rates it claims, deterministically per seed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from orchestrator.harvest.stream_limit import StreamLimit
from pytest_soak.replay_feed.generator import MarketGenerator, stream_limit_per_market_s
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


@pytest.mark.parametrize("name", sorted(PROFILES))
@pytest.mark.parametrize("regime", ["normal", "choppy", "quiet"])
def test_the_stream_limit_sheds_nothing_of_any_regime(name: str, regime: str) -> None:
    """Regimes last market minutes: harvest's per-stream limit (the reference soak config's, at
    the bucket of config/defaults.yaml) must shed none of their flow (only the burst fault
    may), in event time as harvest applies it."""
    limit = StreamLimit(stream_limit_per_market_s(name), burst_s=5)
    generator = MarketGenerator(7, 2, regime=regime, profile=name)
    shed = sum(not limit.admit(r["stream"], r["data"].get("E", r["recv_ms"]))
               for r in generator.records(5))
    assert shed == 0


def test_unknown_profile_is_named() -> None:
    with pytest.raises(ValueError, match="unknown market profile 'busy'"):
        MarketGenerator(1, profile="busy")
