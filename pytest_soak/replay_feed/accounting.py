"""The feed's own account of what it delivered: per connection, when it opened and closed and
who closed it, the frames it delivered per stream, and the aggTrade ids it delivered per
symbol as ranges (`GET /control/stats`).

A client (the harness) compares this with what the pipeline claims: the connections a client
re-opened against its reconnect counter, the frames delivered against its events_in, the ids
delivered against the ids it handed on. "Delivered" means put on the connection's outgoing
queue; what was still queued when the connection closed is recorded as `unsent` (frames, and
the aggTrade ids among them), so delivered - unsent is what went to the socket.

Ids are consecutive per symbol in the generator, so a connection's ids are a few ranges
`[first_id, last_id, first_wall_ms, last_wall_ms]` (a pause or a stall starts a new one; so
does every RANGE_MS of wall time, so the time of any id is known within that).
"""

from __future__ import annotations

import json
from typing import Any

from pytest_soak.replay_feed.clock import wall_ms

RANGE_MS = 1_000          # a range spans at most this much wall time
BUCKET_MS = 1_000         # frames delivered per wall-clock bucket (for in-flight tails)
CLOSED_BY = ("client", "drop", "slow_consumer", "feed_stop")


class ConnectionAccount:
    """One WebSocket connection as the feed saw it."""

    def __init__(self, conn_id: int, route: str | None, streams: list[str]) -> None:
        self.id = conn_id
        self.route = route
        self.streams = sorted(streams)
        self.opened_ms = wall_ms()
        self.closed_ms: int | None = None
        self.closed_by: str | None = None
        self.frames: dict[str, int] = {}
        self.buckets: list[list[int]] = []            # [bucket_start_ms, frames]
        self.agg: dict[str, list[list[int]]] = {}     # symbol -> [first, last, first_ms, last_ms]
        self.unsent_frames = 0
        self.unsent_agg: dict[str, list[list[int]]] = {}

    def delivered(self, stream: str, now_ms: int, symbol: str | None = None,
                  agg_id: int | None = None) -> None:
        """One frame of `stream` put on this connection's queue (hot path: keep it cheap)."""
        self.frames[stream] = self.frames.get(stream, 0) + 1
        start = now_ms - now_ms % BUCKET_MS
        if self.buckets and self.buckets[-1][0] == start:
            self.buckets[-1][1] += 1
        else:
            self.buckets.append([start, 1])
        if agg_id is not None and symbol is not None:
            _extend(self.agg.setdefault(symbol, []), agg_id, now_ms)

    def close(self, closed_by: str, queued: list) -> None:
        """The connection ended (first call wins); `queued` is what was never written."""
        if self.closed_ms is not None:
            return
        self.closed_ms, self.closed_by = wall_ms(), closed_by
        self.unsent_frames = len(queued)
        for frame in queued:
            symbol, agg_id = agg_of(frame)
            if agg_id is not None:
                _extend(self.unsent_agg.setdefault(symbol, []), agg_id, self.closed_ms)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "route": self.route, "streams": self.streams,
                "opened_ms": self.opened_ms, "closed_ms": self.closed_ms,
                "closed_by": self.closed_by, "frames": dict(self.frames),
                "frames_by_s": [list(b) for b in self.buckets],
                "aggtrade_ranges": {s: [list(r) for r in rs] for s, rs in self.agg.items()},
                "unsent_frames": self.unsent_frames,
                "unsent_aggtrade_ranges": {s: [r[:2] for r in rs]
                                           for s, rs in self.unsent_agg.items()}}


def _extend(ranges: list[list[int]], agg_id: int, now_ms: int) -> None:
    last = ranges[-1] if ranges else None
    if last is not None and agg_id == last[1] + 1 and now_ms - last[2] < RANGE_MS:
        last[1], last[3] = agg_id, now_ms
    else:
        ranges.append([agg_id, agg_id, now_ms, now_ms])


def agg_of(frame: str | bytes) -> tuple[str | None, int | None]:
    """(symbol, aggTrade id) of a queued frame, or (None, None) for any other frame."""
    text = frame.decode(errors="replace") if isinstance(frame, bytes) else frame
    if '"aggTrade"' not in text:
        return None, None
    try:
        doc = json.loads(text)
    except ValueError:
        return None, None
    data = doc.get("data", doc) if isinstance(doc, dict) else None
    if isinstance(data, dict) and data.get("e") == "aggTrade" and isinstance(data.get("a"), int):
        return str(data.get("s")), data["a"]
    return None, None


class Accounting:
    """Every connection the feed accepted, and every handshake it refused."""

    def __init__(self) -> None:
        self.connections: dict[int, ConnectionAccount] = {}
        self.refused: list[dict[str, Any]] = []

    def opened(self, conn_id: int, route: str | None, streams: list[str]) -> ConnectionAccount:
        account = ConnectionAccount(conn_id, route, streams)
        self.connections[conn_id] = account
        return account

    def refuse(self, path: str, status: int) -> None:
        self.refused.append({"at_ms": wall_ms(), "path": path, "status": status})

    def as_json(self) -> dict[str, Any]:
        conns = [c.as_json() for c in self.connections.values()]
        return {"schema_version": 1, "range_ms": RANGE_MS, "bucket_ms": BUCKET_MS,
                "connections": conns, "refused": list(self.refused),
                "totals": {"connections": len(conns),
                           "closed_by": {k: sum(1 for c in conns if c["closed_by"] == k)
                                         for k in CLOSED_BY},
                           "refused": len(self.refused),
                           "frames": _sum_frames(conns)}}


def _sum_frames(conns: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for conn in conns:
        for stream, n in conn["frames"].items():
            out[stream] = out.get(stream, 0) + n
    return out
