"""Where the feed's events come from: a recording file, or the live seeded generator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pytest_soak.replay_feed.generator import MarketGenerator, parse_schedule
from pytest_soak.replay_feed.looping import Looper, RecordingShape, first_loop_diffs
from pytest_soak.replay_feed.market import DEFAULT_PROFILE, SymbolSpec, default_specs
from pytest_soak.replay_feed.recording import Record, is_snapshot, read_recording

KNOWN_SPECS = {spec.symbol: spec for spec in default_specs(2)}
STREAM_KINDS = ("aggTrade", "depth@100ms", "bookTicker")


class RecordingSource:
    """Replays a file `loops` times (None: endlessly, each loop continuing the previous one,
    looping.py). Scans it up front for its streams and symbols (exchangeInfo), its REST
    snapshots (the served book) and what the loop shifts need."""

    can_switch_regime = False

    def __init__(self, path: Path | str, loops: int | None = 1) -> None:
        self.path = Path(path)
        self.streams: set[str] = set()
        decimals: dict[str, int] = {}
        self.shape = RecordingShape()
        self.count = 0
        for record in read_recording(self.path):
            self.count += 1
            self.shape.observe(record)
            if not is_snapshot(record):
                self.streams.add(record["stream"])
                _note_decimals(record["data"], decimals)
        if not self.streams:
            raise ValueError(f"{self.path}: the recording has no events")
        self.shape.finish(first_loop_diffs(read_recording(self.path), self.shape))
        self.first_ms = self.shape.first_ms
        self.snapshots = self.shape.snapshots
        symbols = sorted({stream.split("@", 1)[0].upper() for stream in self.streams})
        self.specs = [KNOWN_SPECS.get(s) or SymbolSpec(s, 10.0 ** -decimals.get(s, 2), 0.001, 0.0)
                      for s in symbols]
        self.looper = Looper(lambda: read_recording(self.path), self.shape, loops)

    def records(self) -> Iterator[Record]:
        return self.looper.records()

    def describe(self) -> dict:
        """What the feed's state says about its market (the harness's observations)."""
        note = ("REST depth snapshots served from the recording" if self.snapshots else
                "the recording has no REST depth snapshots: the feed synthesises its book "
                "from the diffs it serves (a client's book holds only the levels they touch)")
        return {"kind": "recording", "file": str(self.path), "snapshots": bool(self.snapshots),
                "loops": self.looper.started, "length_s": self.shape.period_ms / 1000,
                "note": note}

    def set_regime(self, regime: str, symbol: str | None = None) -> None:
        raise ValueError("regime switching needs a generated feed (--generate SEED), "
                         "not a recording")

    def regimes(self) -> dict[str, str]:
        return {}


def _note_decimals(data: dict, decimals: dict[str, int]) -> None:
    price = data.get("p") or data.get("b")
    symbol = data.get("s")
    if isinstance(price, str) and isinstance(symbol, str) and "." in price:
        decimals[symbol] = max(decimals.get(symbol, 0), len(price.split(".")[1]))


class GeneratorSource:
    """Synthesizes live from the seeded generator; the regime can be switched while it runs."""

    can_switch_regime = True
    snapshots: dict[str, list[dict]] = {}      # the generator's book is the served one

    def __init__(self, seed: int, symbols: int, regime: str, schedule: str | None,
                 minutes: float | None, profile: str = DEFAULT_PROFILE) -> None:
        self.generator = MarketGenerator(seed, symbols, regime, profile=profile)
        self.specs = self.generator.specs
        self.schedule = parse_schedule(schedule)
        self.minutes = minutes
        self.first_ms = self.generator.start_ms
        self.streams = {f"{spec.symbol.lower()}@{kind}" for spec in self.specs
                        for kind in STREAM_KINDS}

    def records(self) -> Iterator[Record]:
        if self.minutes is None:
            return self.generator.events(self.schedule)
        return self.generator.records(self.minutes, self.schedule)

    def set_regime(self, regime: str, symbol: str | None = None) -> None:
        self.schedule = None          # an explicit switch overrides the schedule
        self.generator.set_regime(regime, symbol)

    def regimes(self) -> dict[str, str]:
        return self.generator.regimes()

    def describe(self) -> dict:
        profile = self.generator.profile
        return {"kind": "generator", "file": None, "snapshots": False, "loops": None,
                "length_s": None, "profile": profile.name,
                "note": f"the seeded generator, profile {profile.name}: {profile.source}"}
