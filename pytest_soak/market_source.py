"""The soak's market as the harness plans around it: the seeded generator or a recording.

`{market_stream_limit_per_s}` (a pipeline spec placeholder) is the per-stream rate limit the
market needs, in events per market second (event time, so the same at any speed):
`stream_limit_per_market_s(profile)` for the generator (its profile's headroom x its busiest
stream's measured rate, pytest_soak/replay_feed/generator.py), and for a recording the larger
of HEADROOM x its busiest stream's mean rate and that stream's busiest second, so a real
market's normal flow is never shed either.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pytest_soak.replay_feed.generator import HEADROOM, stream_limit_per_market_s
from pytest_soak.replay_feed.market import DEFAULT_PROFILE, REAL_PROFILE
from pytest_soak.replay_feed.recording import is_snapshot, read_recording


@dataclass(frozen=True)
class RecordingFacts:
    mean_per_s: float             # events per market second over its span
    busiest_s: int                # events in its busiest second
    symbols: frozenset[str]
    stream_mean_per_s: float      # its busiest stream's mean rate
    stream_busiest_s: int         # the most events one stream has in one second


@lru_cache(maxsize=4)
def scan_recording(path: Path) -> RecordingFacts:
    """One pass over a recording (cached: the rate limit and the symbol check share it)."""
    per_s: Counter[int] = Counter()
    per_stream_s: Counter[tuple[str, int]] = Counter()
    per_stream: Counter[str] = Counter()
    symbols: set[str] = set()
    for record in read_recording(path):
        if not is_snapshot(record):
            second = record["recv_ms"] // 1000
            per_s[second] += 1
            per_stream_s[record["stream"], second] += 1
            per_stream[record["stream"]] += 1
            symbols.add(record["stream"].split("@", 1)[0].upper())
    if not per_s:
        raise ValueError(f"{path}: the recording has no events")
    span_s = max(1, max(per_s) - min(per_s) + 1)
    return RecordingFacts(sum(per_s.values()) / span_s, max(per_s.values()), frozenset(symbols),
                          max(per_stream.values()) / span_s, max(per_stream_s.values()))


def stream_limit(recording: Path | None, profile: str = DEFAULT_PROFILE,
                 exchange: bool = False) -> float:
    """Events per market second per stream; the generator's for its profile, a recording's
    from its own busiest stream, the real exchange's (`--soak-feed exchange`) the real
    profile's, which is its measured rates."""
    if exchange:
        return float(stream_limit_per_market_s(REAL_PROFILE))
    if recording is None:
        return float(stream_limit_per_market_s(profile))
    facts = scan_recording(recording)
    return float(math.ceil(max(HEADROOM * facts.stream_mean_per_s, facts.stream_busiest_s)))


def soak_profile(option: str | None, schedule_profile: str | None) -> str:
    """The generator profile of a soak: --soak-market-profile, else the one the fault schedule
    is sized for, else the generator's own default."""
    return option or schedule_profile or DEFAULT_PROFILE


def missing_symbols(recording: Path, symbols: list[str]) -> list[str]:
    """The pipeline's symbols the recording has no stream of (its streams would stay silent)."""
    return sorted(set(s.upper() for s in symbols) - scan_recording(recording).symbols)


def market_line(source: dict[str, Any], minutes: float) -> str:
    """One line for the terminal: what the market is, and how a recording fills the soak."""
    if source.get("kind") != "recording":
        return "soak market: the seeded generator"
    length = source.get("length_s") or 0.0
    loops = math.ceil(minutes * 60 / length) if length else None
    snapshots = ("its REST depth snapshots served" if source.get("snapshots") else
                 "no REST depth snapshots: the feed synthesises its book")
    return (f"soak market: recording {source.get('file')} ({length:g} market s, {snapshots}); "
            f"{minutes:g} market min = about {loops} loops, each continuing the last "
            "(ids and times shifted forward, docs/data-sources.md)")
