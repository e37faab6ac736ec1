"""Where the feed's events come from: a recording file, or the live seeded generator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pytest_soak.replay_feed.generator import MarketGenerator, parse_schedule
from pytest_soak.replay_feed.market import SymbolSpec, default_specs
from pytest_soak.replay_feed.recording import Record, read_recording

KNOWN_SPECS = {spec.symbol: spec for spec in default_specs(2)}
STREAM_KINDS = ("aggTrade", "depth@100ms", "bookTicker")


class RecordingSource:
    """Replays a file. Scans it once up front for its streams and symbols (exchangeInfo)."""

    can_switch_regime = False

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.streams: set[str] = set()
        decimals: dict[str, int] = {}
        self.first_ms: int | None = None
        self.count = 0
        for record in read_recording(self.path):
            self.count += 1
            if self.first_ms is None:
                self.first_ms = record["recv_ms"]
            self.streams.add(record["stream"])
            _note_decimals(record["data"], decimals)
        if self.first_ms is None:
            raise ValueError(f"{self.path}: the recording is empty")
        symbols = sorted({stream.split("@", 1)[0].upper() for stream in self.streams})
        self.specs = [KNOWN_SPECS.get(s) or SymbolSpec(s, 10.0 ** -decimals.get(s, 2), 0.001, 0.0)
                      for s in symbols]

    def records(self) -> Iterator[Record]:
        return read_recording(self.path)

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

    def __init__(self, seed: int, symbols: int, regime: str, schedule: str | None,
                 minutes: float | None) -> None:
        self.generator = MarketGenerator(seed, symbols, regime)
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
