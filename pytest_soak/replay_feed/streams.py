"""Binance USDⓈ-M stream paths: routed (/public, /market, since April 2026) and legacy.

    /ws/<stream>            raw, one stream, bare payloads
    /ws                     raw, streams added with SUBSCRIBE
    /stream?streams=a/b/c   combined: {"stream": ..., "data": ...}
    /public/ws/..., /public/stream?...   depth and bookTicker (high-frequency book data)
    /market/ws/..., /market/stream?...   aggTrade, markPrice, klines, tickers
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

ROUTES = ("public", "market")


@dataclass(frozen=True)
class StreamPath:
    route: str | None         # None = legacy unrouted path: every stream
    combined: bool
    streams: tuple[str, ...]


def parse_path(path: str) -> StreamPath:
    """Raise ValueError for a path the exchange does not serve."""
    base, _, query = path.partition("?")
    parts = [unquote(p) for p in base.split("/") if p]
    route = None
    if parts and parts[0] in ROUTES:
        route = parts.pop(0)
    if not parts or parts[0] not in ("ws", "stream"):
        raise ValueError(f"unknown path {path!r}")
    if parts[0] == "stream":
        names = parse_qs(query).get("streams", [""])[0]
        streams = tuple(s for s in names.split("/") if s)
        return StreamPath(route, True, streams)
    return StreamPath(route, False, tuple(parts[1:2]))


def route_of(stream: str) -> str:
    """Which routed path serves a stream."""
    kind = stream.split("@", 1)[1] if "@" in stream else stream
    return "public" if kind.startswith("depth") or kind == "bookTicker" else "market"


def served_on(route: str | None, stream: str) -> bool:
    return route is None or route_of(stream) == route


def symbol_of(stream: str) -> str:
    return stream.split("@", 1)[0].upper()
