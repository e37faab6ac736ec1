"""The harvest stage's settings: config sections `feed` (where) and `harvest` (how)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.config import section

FEED_DEFAULTS: dict[str, Any] = {
    "ws_base_url": "wss://fstream.binance.com",
    "rest_base_url": "https://fapi.binance.com",
    "routed": True,                 # /public + /market connections (Binance, since April 2026)
    "streams": ["aggTrade", "depth@100ms", "bookTicker"],
    "depth_snapshot_limit": 1000,
    "rest_timeout_s": 10.0,
    "connect_timeout_s": 10.0,
}

HARVEST_DEFAULTS: dict[str, Any] = {
    "queue_max": 50_000,            # reader -> step() queue; beyond it events are dropped+counted
    "drain_max_per_step": 5_000,
    # handoff appends per wall second at most (budget.py: load shedding, like an ingest rate
    # limit); beyond it the queue fills, then drops are counted. None = no budget
    "handoff_write_budget_per_s": None,
    "substream_silence_s": 10.0,    # a stream silent this long while its connection flows
    "connection_silence_s": 30.0,   # nothing at all this long: reconnect
    "backoff_initial_s": 0.5,
    "backoff_max_s": 30.0,
    "max_connection_age_s": 84_600,  # 23.5 h: reconnect before the exchange's 24 h cut
    "ping_interval_s": 60.0,        # client keepalive (the exchange pings every 3 min too)
    "ping_timeout_s": 60.0,
    "snapshot_retry_s": 1.0,
    "record": False,                # raw frames to run_dir/recordings/*.jsonl.gz
    "fsync_every": 5_000,
    "timestamps_max": 200,          # per counter: the newest N increment times kept
}


@dataclass(frozen=True)
class HarvestSettings:
    symbols: tuple[str, ...]
    feed: dict[str, Any]
    harvest: dict[str, Any]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HarvestSettings:
        symbols = tuple(s.upper() for s in (config.get("run") or {}).get("symbols", ["BTCUSDT"]))
        return cls(symbols, section(config, "feed", FEED_DEFAULTS),
                   section(config, "harvest", HARVEST_DEFAULTS))

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
