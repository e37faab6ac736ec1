"""The recording format: JSON lines (optionally gzip), one exchange event per line.

    {"recv_ms": 1767225600123, "stream": "btcusdt@aggTrade", "data": {...exchange payload...}}

`recv_ms` is when the event was (or, for generated data, would have been) received; `stream` is
the combined-stream name; `data` is the payload exactly as the exchange sends it. The harvest
stage writes the same format when it records, so a live capture replays as is.

A second kind of record carries a REST depth snapshot the recorder took (the body of
`GET /fapi/v1/depth` as the exchange answered, `lastUpdateId`, `bids`, `asks`, ...):

    {"recv_ms": 1767225600456, "snapshot": "BTCUSDT", "data": {"lastUpdateId": ..., ...}}

The feed serves them on its REST depth endpoint so a replayed book is right from its first
event; a recording without them (the older format) is still read, and the feed then
synthesises its book from the diffs it serves.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

Record = dict[str, Any]


def _open_text(path: Path, mode: str) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def read_recording(path: Path | str) -> Iterator[Record]:
    """Yield the records of a recording; a line that is not a record raises ValueError naming it."""
    path = Path(path)
    with _open_text(path, "r") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                _check(record)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a recording record ({exc})") from exc
            yield record


def _check(record: Any) -> None:
    if not isinstance(record, dict):
        raise TypeError("a record is a JSON object")
    if not isinstance(record.get("recv_ms"), int):
        raise TypeError('a record needs an integer "recv_ms"')
    if not isinstance(record.get("data"), dict):
        raise TypeError('a record needs an object "data"')
    if "snapshot" in record:
        if not isinstance(record["snapshot"], str) or not isinstance(
                record["data"].get("lastUpdateId"), int):
            raise TypeError('a snapshot record needs a string "snapshot" (the symbol) and '
                            'integer data.lastUpdateId')
    elif not isinstance(record.get("stream"), str):
        raise TypeError('a record needs a string "stream" (or "snapshot")')


def is_snapshot(record: Record) -> bool:
    """A REST depth snapshot record (not an event to send on a stream)."""
    return "snapshot" in record


def write_recording(path: Path | str, records: Iterable[Record]) -> int:
    """Write records (gzip if the name ends in .gz); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _open_text(path, "w") as fh:
        for record in records:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    return count
