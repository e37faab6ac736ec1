"""Binance USDⓈ-M specifics: frame parsing and validation, URLs, the REST depth snapshot.

A frame is one of: a combined-stream event {"stream", "data"}, a method reply
{"result", "id"} / {"error", "id"}, or malformed (Malformed.kind says how, for the counters).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# field -> exact type (bool is not an int here: `type(v) is t`)
FIELDS: dict[str, dict[str, type]] = {
    "aggTrade": {"e": str, "E": int, "a": int, "s": str, "p": str, "q": str, "f": int, "l": int,
                 "T": int, "m": bool},
    "depthUpdate": {"e": str, "E": int, "T": int, "s": str, "U": int, "u": int, "pu": int,
                    "b": list, "a": list},
    "bookTicker": {"u": int, "s": str, "b": str, "B": str, "a": str, "A": str, "T": int,
                   "E": int},
}
FIELD_TYPES = {kind: tuple(fields.items()) for kind, fields in FIELDS.items()}
NUMERIC = {"aggTrade": ("p", "q"), "bookTicker": ("b", "B", "a", "A"), "depthUpdate": ()}


class Malformed(ValueError):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def stream_kind(stream: str) -> str | None:
    """btcusdt@depth@100ms -> depthUpdate; the payload type a stream carries, or None."""
    _, _, kind = stream.partition("@")
    if kind == "aggTrade":
        return "aggTrade"
    if kind.startswith("depth"):
        return "depthUpdate"
    if kind == "bookTicker":
        return "bookTicker"
    return None


def parse_frame(raw: str | bytes, subscribed: set[str]) -> tuple[str | None, dict]:
    """(stream, data) for an event, (None, reply) for a method reply; raises Malformed."""
    if not isinstance(raw, str):
        raise Malformed("binary_frame", f"{len(raw)} bytes")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise Malformed("non_json", str(exc)) from None
    if not isinstance(doc, dict):
        raise Malformed("not_an_object", type(doc).__name__)
    stream, data = doc.get("stream"), doc.get("data")
    if stream is None:
        if "id" in doc and ("result" in doc or "error" in doc):
            return None, doc
        raise Malformed("no_envelope", "neither a combined-stream event nor a method reply")
    if not isinstance(stream, str) or not isinstance(data, dict):
        raise Malformed("wrong_type", "envelope 'stream'/'data' of the wrong type")
    kind = stream_kind(stream)
    if kind is None or stream not in subscribed:
        raise Malformed("unknown_stream", stream)
    validate(kind, data, stream)
    return stream, data


def validate(kind: str, data: dict, stream: str) -> None:
    """Raise Malformed unless `data` has every field of `kind` with its exact type."""
    try:
        for field, expected in FIELD_TYPES[kind]:
            if type(data[field]) is not expected:
                raise Malformed("wrong_type", f"{kind}.{field} is {type(data[field]).__name__}")
    except KeyError as exc:
        raise Malformed("missing_field", f"{kind}.{exc.args[0]}") from None
    try:
        for field in NUMERIC[kind]:
            float(data[field])
        if kind == "depthUpdate":
            for levels in (data["b"], data["a"]):
                for price, qty in levels:           # a level that is not a pair fails here
                    if type(price) is not str or type(qty) is not str:
                        raise TypeError("level values must be strings")
    except (ValueError, TypeError) as exc:
        raise Malformed("bad_number" if kind != "depthUpdate" else "bad_level",
                        f"{kind}: {exc}") from None
    if kind != "bookTicker" and data["e"] != kind:
        raise Malformed("wrong_event", f"{data['e']!r} on {stream}")
    if data["s"].lower() != stream.partition("@")[0]:
        raise Malformed("wrong_symbol", f"{data['s']!r} on {stream}")


def stream_url(ws_base: str, route: str, streams: list[str]) -> str:
    return f"{ws_base.rstrip('/')}{route}/stream?streams={'/'.join(streams)}"


def fetch_depth_snapshot(rest_base: str, symbol: str, limit: int, timeout_s: float) -> dict:
    """GET /fapi/v1/depth; raises Malformed('snapshot_error', ...) on any failure."""
    url = f"{rest_base.rstrip('/')}/fapi/v1/depth?symbol={symbol}&limit={limit}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:   # noqa: S310
            doc: Any = json.loads(response.read())
    except (OSError, ValueError, urllib.error.HTTPError) as exc:
        raise Malformed("snapshot_error", f"{url}: {exc}") from None
    if not (isinstance(doc, dict) and type(doc.get("lastUpdateId")) is int
            and isinstance(doc.get("bids"), list) and isinstance(doc.get("asks"), list)):
        raise Malformed("snapshot_error", f"{url}: not a depth snapshot")
    for level in doc["bids"] + doc["asks"]:
        if not (type(level) is list and len(level) == 2 and all(type(x) is str for x in level)):
            raise Malformed("snapshot_error", f"{url}: bad level {level!r}")
    return doc
