"""When the feed sent each aggTrade: the feed's side of the signal latency (pytest_soak/latency.py).

Only with `--sent-log FILE` (`ReplayFeed(sent_log=...)`): the engine calls `SentLog.sent` once
per aggTrade it hands to its connections, with the symbol and the trade's id `a` as served
(after the feed's own id shifts, so a looped recording's ids are the ones the pipeline sees).
"Sent" is the wall time the frame was put on the connections' outgoing queues, the moment the
feed's own account calls "delivered" (accounting.py); the writer task puts it on the socket
right after, so a latency measured from it includes the feed's own send path (an upper bound).

The hot path is two `array.append`s (16 bytes a trade; no per-trade object kept), so it costs
nothing at real rates (250 events/s x 30). At the feed's stop the log is written once, as a
compact binary file: one JSON header line, then per symbol (in the header's order) its ids and
its sent times, each `count` little-endian int64 (`array('q')`):

    {"format": "pytest-soak feed sent log", "version": 1, "clock": "...", "symbols":
     {"BTCUSDT": 1234, "ETHUSDT": 1200}}\\n  <ids BTCUSDT> <sent_us BTCUSDT> <ids ETHUSDT> ...
"""

from __future__ import annotations

import json
import sys
import time
from array import array
from pathlib import Path

from pytest_soak_evidence.atomic import write_bytes_atomic

FORMAT = "pytest-soak feed sent log"
FILE_NAME = "feed_sent.bin"          # in the run folder's harness/ (the soak's feed sidecar)
VERSION = 1
CLOCK = "wall epoch microseconds (time.time_ns() // 1000)"


def wall_us() -> int:
    return time.time_ns() // 1000


class SentLog:
    """Per symbol, the ids the feed sent and the wall microseconds it sent them at."""

    def __init__(self) -> None:
        self.ids: dict[str, array] = {}
        self.sent_us: dict[str, array] = {}

    def sent(self, symbol: str, agg_id: int) -> None:
        """One aggTrade handed to the connections now (hot path: keep it two appends)."""
        ids = self.ids.get(symbol)
        if ids is None:
            ids = self.ids[symbol] = array("q")
            self.sent_us[symbol] = array("q")
        ids.append(agg_id)
        self.sent_us[symbol].append(wall_us())

    def __len__(self) -> int:
        return sum(len(ids) for ids in self.ids.values())

    def to_bytes(self) -> bytes:
        header = {"format": FORMAT, "version": VERSION, "clock": CLOCK,
                  "symbols": {s: len(ids) for s, ids in self.ids.items()}}
        parts = [json.dumps(header, separators=(",", ":")).encode() + b"\n"]
        for symbol, ids in self.ids.items():
            parts += [_little(ids), _little(self.sent_us[symbol])]
        return b"".join(parts)

    def write(self, path: Path | str) -> None:
        write_bytes_atomic(path, self.to_bytes(), durable=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> SentLog:
        head, sep, body = data.partition(b"\n")
        header = json.loads(head) if sep else {}
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} (version {VERSION}): header {head[:120]!r}")
        log, offset = cls(), 0
        for symbol, count in header["symbols"].items():
            size = 8 * int(count)
            log.ids[symbol] = _from_little(body[offset:offset + size])
            log.sent_us[symbol] = _from_little(body[offset + size:offset + 2 * size])
            offset += 2 * size
        if offset != len(body):
            raise ValueError(f"{FORMAT}: {len(body)} bytes of arrays, the header says {offset}")
        return log

    @classmethod
    def load(cls, path: Path | str) -> SentLog:
        return cls.from_bytes(Path(path).read_bytes())


def _little(values: array) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("q", values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_little(data: bytes) -> array:
    values = array("q")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values
