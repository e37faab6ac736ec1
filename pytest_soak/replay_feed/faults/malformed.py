"""malformed: send `count` broken frames of one `kind` (see MALFORMED_KINDS) on `stream`."""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.engine import Client
from pytest_soak.replay_feed.faults.base import FaultError

MALFORMED_KINDS = ("non_json", "missing_field", "wrong_type", "unknown_stream", "binary")


def handle(ctl: Any, action: str, params: dict) -> dict:
    kind = params.get("kind", "non_json")
    if kind not in MALFORMED_KINDS:
        raise FaultError(f"malformed kind must be one of {MALFORMED_KINDS}, not {kind!r}")
    stream = params.get("stream")
    sent = 0
    for _ in range(int(params.get("count", 1))):
        sent += ctl.engine.send_raw(lambda c: frame(kind, stream, c), stream)
    return {"action": "inject", "frames_sent": sent}


def frame(kind: str, stream: str | None, client: Client) -> str | bytes:
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
