"""Fault injection: what each control call does to the feed, with a start and an end.

Every call returns (and appends to the history) a record of what it did and when:
{"id", "fault", "action": "start"|"end"|"inject", "params", "wall_ms", "market_ms", ...}.
Faults with a duration (`duration_ms`, wall time) end by themselves; the end is recorded too.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from replay_feed.clock import wall_ms
from replay_feed.engine import Client, FeedEngine

MALFORMED_KINDS = ("non_json", "missing_field", "wrong_type", "unknown_stream", "binary")


class FaultError(ValueError):
    """A control call with bad parameters (HTTP 400) or impossible here (HTTP 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class FaultController:
    def __init__(self, engine: FeedEngine) -> None:
        self.engine = engine
        self.history: list[dict] = []
        self.rest_failures_left = 0
        self.refuse_until_wall_ms = 0
        self._ids = itertools.count(1)

    def handle(self, fault: str, action: str, params: dict) -> dict:
        handler: Callable[[str, dict], dict] | None = getattr(self, f"_fault_{fault}", None)
        if handler is None:
            raise FaultError(f"unknown control {fault!r}; known: {sorted(self.known())}", 404)
        if action not in ("start", "end"):
            raise FaultError(f"action must be start or end, not {action!r}")
        details = handler(action, params)
        record = {"id": next(self._ids), "fault": fault,
                  "action": details.pop("action", action), "params": params,
                  "wall_ms": wall_ms(), "market_ms": self.engine.market_ms(), **details}
        self.history.append(record)
        duration = params.get("duration_ms")
        if action == "start" and record["action"] == "start" and duration:
            end_params = {k: v for k, v in params.items() if k != "duration_ms"}
            asyncio.get_running_loop().call_later(
                float(duration) / 1000, self.handle, fault, "end", end_params)
        return record

    @classmethod
    def known(cls) -> list[str]:
        return [name[len("_fault_"):] for name in dir(cls) if name.startswith("_fault_")]

    # ---- the faults (each returns extra fields for its record) -------------------------
    def _fault_start(self, action: str, params: dict) -> dict:
        return {"action": "inject", "started_now": self.engine.start()}

    def _fault_pause(self, action: str, params: dict) -> dict:
        """All streams, or one: events are skipped (paced) / held (max, all streams)."""
        stream = params.get("stream")
        engine = self.engine
        if stream:
            paused = engine.paused_streams
            (paused.add if action == "start" else paused.discard)(stream)
        elif engine.clock.paced:
            # the clock keeps running: paused events are skipped, like an exchange outage
            engine.paused_all = action == "start"
        elif action == "start":
            engine.resumed.clear()          # max mode holds events instead of skipping them
        else:
            engine.resumed.set()
        return {"skipped_so_far": engine.skipped}

    def _fault_stall(self, action: str, params: dict) -> dict:
        """One sub-stream goes silent on the connections subscribed now; others keep flowing.
        A resubscribe cures it unless params.sticky; `end` cures everyone."""
        stream = _require(params, "stream")
        clients = list(self.engine.clients.values())
        if action == "start":
            clients = [c for c in clients if stream in c.streams]
        for client in clients:     # end: also a client caught between UNSUBSCRIBE and SUBSCRIBE
            (client.stalled.add if action == "start" else client.stalled.discard)(stream)
        if params.get("sticky") and action == "start":
            self.engine.sticky_stalls.add(stream)
        if action == "end":
            self.engine.sticky_stalls.discard(stream)
        return {"connections": [c.id for c in clients]}

    def _fault_drop(self, action: str, params: dict) -> dict:
        """Drop every connection (abort = TCP reset mid-stream; close = close frame 1001).
        `refuse_ms`: refuse new connections (HTTP 503) for that long."""
        if action == "end":
            self.refuse_until_wall_ms = 0
            return {}
        clients = list(self.engine.clients.values())
        for client in clients:
            self.engine.remove_client(client)
            if params.get("mode", "abort") == "close":
                asyncio.ensure_future(client.ws.close(1001, "going away"))
            else:
                client.ws.transport.abort()
        if params.get("refuse_ms"):
            self.refuse_until_wall_ms = wall_ms() + int(params["refuse_ms"])
        return {"action": "inject", "dropped": [c.id for c in clients]}

    def _fault_malformed(self, action: str, params: dict) -> dict:
        kind = params.get("kind", "non_json")
        if kind not in MALFORMED_KINDS:
            raise FaultError(f"malformed kind must be one of {MALFORMED_KINDS}, not {kind!r}")
        stream = params.get("stream")
        count = int(params.get("count", 1))
        sent = 0
        for _ in range(count):
            sent += self.engine.send_raw(lambda c: _malformed_frame(kind, stream, c), stream)
        return {"action": "inject", "frames_sent": sent}

    def _fault_gap(self, action: str, params: dict) -> dict:
        """The next depth diff of `symbol` skips `skip` update ids: pu != previous u."""
        symbol = _require(params, "symbol").upper()
        if symbol not in self.engine.books:
            raise FaultError(f"unknown symbol {symbol!r}")
        skip = int(params.get("skip", 10))
        self.engine.pending_gap[symbol] = self.engine.pending_gap.get(symbol, 0) + skip
        return {"action": "inject"}

    def _fault_burst(self, action: str, params: dict) -> dict:
        """The market clock runs `factor` x faster (N x the event rate) until the end."""
        factor = float(params.get("factor", 10)) if action == "start" else 1.0
        if factor <= 0:
            raise FaultError("burst factor must be > 0")
        if not self.engine.clock.paced:
            return {"note": "max speed has no clock: the feed already sends as fast as read"}
        self.engine.clock.set_burst(factor)
        return {"rate": self.engine.clock.rate()}

    def _fault_regime(self, action: str, params: dict) -> dict:
        if not self.engine.source.can_switch_regime:
            raise FaultError("regime switching needs a generated feed (--generate SEED)", 409)
        regime = params.get("regime", "normal") if action == "start" else "normal"
        try:
            self.engine.source.set_regime(regime, params.get("symbol"))
        except ValueError as exc:
            raise FaultError(str(exc)) from exc
        return {"regimes": self.engine.source.regimes()}

    def _fault_rest_fail(self, action: str, params: dict) -> dict:
        """The next `count` depth snapshot requests fail with HTTP 503."""
        self.rest_failures_left = int(params.get("count", 1)) if action == "start" else 0
        return {}


def _require(params: dict, key: str) -> Any:
    if not params.get(key):
        raise FaultError(f"parameter {key!r} is required")
    return params[key]


def _malformed_frame(kind: str, stream: str | None, client: Client) -> str | bytes:
    stream = stream or next(iter(sorted(client.streams)), "btcusdt@aggTrade")
    symbol = stream.split("@", 1)[0].upper()
    if kind == "binary":
        return b"\x00\xffnot json"
    if kind == "non_json":
        return client.frame(stream, '{"e":"aggTrade","E":17')          # cut mid-object
    if kind == "unknown_stream":
        bogus = stream.split("@", 1)[0] + "@noSuchStream"
        return client.frame(bogus, '{"e":"noSuchEvent","E":1}')
    if kind == "missing_field":
        return client.frame(stream, f'{{"e":"aggTrade","E":1,"s":"{symbol}"}}')
    return client.frame(stream, f'{{"e":"aggTrade","E":"soon","a":"x","s":"{symbol}","p":1,'
                                '"q":null,"f":1,"l":1,"T":1,"m":"no"}')
