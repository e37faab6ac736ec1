"""The supervisor's command line. Every setting is an option; a bad one exits 2 naming it."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SYMBOL = re.compile(r"[a-z0-9]{2,20}")


@dataclass(frozen=True)
class Config:
    run_dir: Path
    feed_ws_url: str
    symbols: tuple[str, ...]
    stream_path: str
    health_port: int
    restart: str             # always | never (systemd's Restart=always / Restart=no)
    minutes: float           # wall minutes before the supervisor stops itself; 0 = never
    mode: str                # live | replay: reported in /health, turns on nothing else
    max_event_age_s: float | None
    run_id: str

    @property
    def stream_url(self) -> str:
        """The combined aggTrade streams of every symbol, as Binance USD-M serves them."""
        streams = "/".join(f"{s}@aggTrade" for s in self.symbols)
        return f"{self.feed_ws_url.rstrip('/')}{self.stream_path}?streams={quote(streams, '/@')}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m examples.asyncio_pipeline",
                                description="Per-minute VWAP bars from Binance USD-M aggTrade "
                                            "streams, in supervised asyncio processes.")
    p.add_argument("--run-dir", type=Path, required=True, help="everything is written here")
    p.add_argument("--feed-ws-url", required=True, help="ws[s]://host:port of the exchange")
    p.add_argument("--symbols", default="btcusdt,ethusdt", help="comma list")
    p.add_argument("--stream-path", default="/market/stream",
                   help="combined-stream path (/market/stream: routed; /stream: legacy)")
    p.add_argument("--health-port", type=int, default=0, help="0: any free port")
    p.add_argument("--restart", choices=("always", "never"), default="always",
                   help="restart a stage that dies (never: leave it dead, like Restart=no)")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="stop by itself after this many wall minutes (0: only on a signal)")
    p.add_argument("--mode", choices=("live", "replay"), default="live")
    p.add_argument("--max-event-age-s", type=float, default=None,
                   help="ingest is degraded when its newest trade arrived longer ago")
    p.add_argument("--run-id", default=None, help="reported in /health (default: run dir name)")
    return p


def parse(argv: list[str] | None = None) -> Config:
    """The validated configuration; argparse's usage error (exit 2) names a bad option."""
    p = parser()
    a = p.parse_args(argv)
    if not re.fullmatch(r"wss?://[^/\s]+/?", a.feed_ws_url):
        p.error(f"--feed-ws-url: expected ws://host:port or wss://host, got {a.feed_ws_url!r}")
    symbols = tuple(s.strip().lower() for s in a.symbols.split(",") if s.strip())
    bad = [s for s in symbols if not SYMBOL.fullmatch(s)]
    if not symbols or bad or len(set(symbols)) != len(symbols):
        p.error(f"--symbols: expected distinct symbols like btcusdt,ethusdt, got {a.symbols!r}")
    if not a.stream_path.startswith("/") or "?" in a.stream_path:
        p.error(f"--stream-path: expected a path like /market/stream, got {a.stream_path!r}")
    if not 0 <= a.health_port <= 65535:
        p.error(f"--health-port: expected 0-65535, got {a.health_port}")
    if a.minutes < 0:
        p.error(f"--minutes: expected >= 0, got {a.minutes:g}")
    if a.max_event_age_s is not None and a.max_event_age_s <= 0:
        p.error(f"--max-event-age-s: expected > 0, got {a.max_event_age_s:g}")
    run_dir = a.run_dir.resolve()
    if run_dir.exists() and not run_dir.is_dir():
        p.error(f"--run-dir: {run_dir} exists and is not a folder")
    return Config(run_dir, a.feed_ws_url, symbols, a.stream_path, a.health_port, a.restart,
                  a.minutes, a.mode, a.max_event_age_s, a.run_id or run_dir.name)
