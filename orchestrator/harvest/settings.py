"""The harvest stage's settings: config sections `feed` (where) and `harvest` (how)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.config import section


@dataclass(frozen=True)
class HarvestSettings:
    symbols: tuple[str, ...]
    feed: dict[str, Any]
    harvest: dict[str, Any]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HarvestSettings:
        symbols = tuple(s.upper() for s in section(config, "run")["symbols"])
        return cls(symbols, section(config, "feed"), section(config, "harvest"))

    def streams(self) -> list[str]:
        return [f"{symbol.lower()}@{kind}" for symbol in self.symbols
                for kind in self.feed["streams"]]

    def connections(self) -> dict[str, list[str]]:
        """URL path prefix -> streams: one connection per route, or one legacy connection."""
        if not self.feed["routed"]:
            return {"": self.streams()}
        out: dict[str, list[str]] = {}
        for stream in self.streams():
            kind = stream.split("@", 1)[1]
            route = "/public" if kind.startswith("depth") or kind == "bookTicker" else "/market"
            out.setdefault(route, []).append(stream)
        return out
