"""The seeded generator: realistic recordings of any length and any number of symbols.

Deterministic: the same seed, symbols and regime schedule give byte-identical recordings.
Live use: `MarketGenerator.events()` is an endless iterator whose regime can be switched while
it runs (`set_regime`), which is how the replay feed synthesizes the harness's regimes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from pathlib import Path

from pytest_soak.replay_feed.market import (
    DEFAULT_PROFILE,
    REGIMES,
    WINDOW_MS,
    MarketState,
    SymbolSpec,
    default_specs,
    profile_named,
)
from pytest_soak.replay_feed.recording import Record, write_recording

EPOCH_MS = 1_767_225_600_000          # 2026-01-01T00:00:00Z: generated time starts here
DEFAULT_SYMBOLS = 2                   # what the generator makes unless told otherwise
DEFAULT_REGIME = "normal"
# A recording's per-stream rate limit is HEADROOM x its busiest stream's mean rate, at least
# that stream's busiest second (pytest_soak/market_source.py); a generated market's is its
# profile's `headroom` x its busiest stream's normal rate (docs/soak-design.md; the reference
# soak config's `{market_stream_limit_per_s}`).
HEADROOM = 2.6


def stream_limit_per_market_s(profile: str = DEFAULT_PROFILE) -> int:
    """The generated market's per-stream rate limit, events per market second, in fives.
    light: 2.6 x 11.2 (bookTicker) -> 30, 2.1x its choppy mean (14.3): its flow is trade-burst
    driven (x5 bursts). real: 1.2 x 175.7 (bookTicker) -> 215, 1.19x its choppy mean (181): a
    quote-driven flow whose busiest 5 s (~232/s) the bucket's 5 s absorb (docs/soak-design.md,
    "Realistic rates"; tests/replay_feed/test_profiles.py sheds nothing of any regime)."""
    spec = profile_named(profile)
    return int(math.ceil(spec.headroom * max(spec.rates_per_s.values()) / 5) * 5)


class MarketGenerator:
    def __init__(self, seed: int, symbols: int | list[SymbolSpec] = DEFAULT_SYMBOLS,
                 regime: str = DEFAULT_REGIME, start_ms: int = EPOCH_MS,
                 profile: str = DEFAULT_PROFILE) -> None:
        specs = default_specs(symbols) if isinstance(symbols, int) else list(symbols)
        self.specs = specs
        self.profile = profile_named(profile)
        self.markets = {spec.symbol: MarketState(spec, random.Random(f"{seed}:{spec.symbol}"),
                                                 profile=self.profile)
                        for spec in specs}
        self.start_ms = start_ms
        self.set_regime(regime)

    def set_regime(self, regime: str, symbol: str | None = None) -> None:
        if regime not in REGIMES:
            raise ValueError(f"unknown regime {regime!r}; known: {sorted(REGIMES)}")
        for name, market in self.markets.items():
            if symbol is None or name == symbol.upper():
                market.regime = regime

    def regimes(self) -> dict[str, str]:
        return {name: market.regime for name, market in self.markets.items()}

    def events(self, schedule: list[tuple[str, float]] | None = None) -> Iterator[Record]:
        """Endless records in recv_ms order; `schedule` cycles [(regime, seconds), ...]."""
        for market in self.markets.values():
            event = market.initial_depth(self.start_ms)
            yield _record(self.start_ms, market, "depth@100ms", event)
        t = self.start_ms
        pending: list[tuple[int, int, Record]] = []    # a heap across windows: a late depth
        order = itertools.count()                      # diff may follow the next trades
        while True:
            if schedule:
                self._apply_schedule(schedule, t - self.start_ms)
            for market in self.markets.values():
                for recv, kind, payload in market.step(t):
                    record = _record(recv, market, kind, payload)
                    heapq.heappush(pending, (recv, next(order), record))
            t += WINDOW_MS
            while pending and pending[0][0] <= t:      # the next window receives from t + 1
                yield heapq.heappop(pending)[2]

    def _apply_schedule(self, schedule: list[tuple[str, float]], elapsed_ms: int) -> None:
        cycle_ms = sum(int(seconds * 1000) for _, seconds in schedule)
        position = elapsed_ms % cycle_ms if cycle_ms else 0
        for regime, seconds in schedule:
            if position < seconds * 1000:
                self.set_regime(regime)
                return
            position -= int(seconds * 1000)

    def records(self, minutes: float, schedule: list[tuple[str, float]] | None = None
                ) -> Iterator[Record]:
        """The records of the first `minutes` of market time."""
        end = self.start_ms + int(minutes * 60_000)
        for record in self.events(schedule):
            if record["recv_ms"] >= end:
                return
            yield record


def _record(recv_ms: int, market: MarketState, kind: str, payload: dict) -> Record:
    return {"recv_ms": recv_ms, "stream": f"{market.spec.symbol.lower()}@{kind}", "data": payload}


def parse_schedule(text: str | None) -> list[tuple[str, float]] | None:
    """`normal:300,choppy:120` -> [("normal", 300.0), ("choppy", 120.0)]."""
    if not text:
        return None
    out = []
    for part in text.split(","):
        regime, _, seconds = part.partition(":")
        if regime not in REGIMES or not seconds:
            raise ValueError(f"bad regime schedule item {part!r}: use REGIME:SECONDS, "
                             f"REGIME in {sorted(REGIMES)}")
        out.append((regime, float(seconds)))
    return out


def generate_recording(path: Path | str, seed: int, minutes: float,
                       symbols: int = DEFAULT_SYMBOLS,
                       schedule: str | None = None, profile: str = DEFAULT_PROFILE) -> int:
    """Write a deterministic recording; returns the number of records."""
    generator = MarketGenerator(seed, symbols, profile=profile)
    return write_recording(path, generator.records(minutes, parse_schedule(schedule)))
