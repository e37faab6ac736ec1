"""The harness's own watch on the signal sinks: when each row first became visible there.

A daemon thread polls every `POLL_MS` wall milliseconds, while the soak runs
(polling_watch.PollingWatch):
- the JSONL sink (`sinks/signals.jsonl`): tailed from the byte offset it had read up to; only
  complete lines count (a line is visible once its newline is; a torn tail is left for the
  next poll, and the sink's cut of it never goes below a newline the watch has passed);
- the SQLite sink (`sinks/signals.sqlite`): one read-only connection (`mode=ro`: a WAL reader
  never blocks the writer; each SELECT is its own short read transaction, so checkpoints go
  on), `SELECT rowid, symbol, agg_id ... WHERE rowid > last`: a reader sees committed rows
  only, and rowids grow with each commit.

A row is named by `(symbol, agg_id)` (the reference pipeline's row_id is the same pair;
pytest_soak_evidence's row format carries both columns). Its visible time is the wall clock
(microseconds, `time.time_ns()`, the feed's clock) read right *after* the poll that returned
it: an upper bound of when it became readable, loose by at most one poll interval plus the
read. For SQLite that is an upper bound of the commit; the JSONL sink writes a batch, then
fsyncs it, so a line may be readable before its fsync returns.

Kept per sink and symbol: two `array('q')` (id, visible us), 16 bytes a row.
"""

from __future__ import annotations

import os
import sqlite3
import time
from array import array
from pathlib import Path
from typing import Any

from pytest_soak.polling_watch import PollingWatch
from pytest_soak_evidence.sinks import (
    SQLITE_TABLE,
    jsonl_path,
    parse_jsonl_line,
    sqlite_path,
)

POLL_MS = 10
SINKS = ("jsonl", "sqlite")


def wall_us() -> int:
    return time.time_ns() // 1000


class SeenRows:
    """Per symbol: the ids first seen and when (wall us), in the order seen."""

    def __init__(self) -> None:
        self.ids: dict[str, array] = {}
        self.seen_us: dict[str, array] = {}
        self.rows = 0
        self.unnamed = 0              # rows without a symbol and an integer agg_id

    def add(self, symbol: Any, agg_id: Any, now_us: int) -> None:
        if not isinstance(symbol, str) or type(agg_id) is not int:
            self.unnamed += 1
            return
        ids = self.ids.get(symbol)
        if ids is None:
            ids = self.ids[symbol] = array("q")
            self.seen_us[symbol] = array("q")
        ids.append(agg_id)
        self.seen_us[symbol].append(now_us)
        self.rows += 1


class JsonlTail:
    """Complete lines appended to a JSONL sink since the last poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.torn = 0                 # complete lines that are not a JSON object
        self.rewound = 0              # the file shrank below what was read: read again

    def poll(self, seen: SeenRows) -> None:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return
        if size < self.offset:        # never by the sink's own tail cut; counted, re-read
            self.rewound += 1
            self.offset = 0
        if size == self.offset:
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        end = data.rfind(b"\n") + 1
        if not end:
            return
        now = wall_us()
        for line in data[:end].splitlines(keepends=True):
            if not line.strip():
                continue
            row = parse_jsonl_line(line)
            if row is None:
                self.torn += 1
            else:
                seen.add(row.get("symbol"), row.get("agg_id"), now)
        self.offset += end

    def close(self) -> None:
        pass


class SqlitePoll:
    """Rows committed to a SQLite sink since the last poll, by rowid."""

    QUERY = f"SELECT rowid, symbol, agg_id FROM {SQLITE_TABLE} WHERE rowid > ? ORDER BY rowid"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last_rowid = 0
        self.conn: sqlite3.Connection | None = None
        self.busy = 0                 # polls that found the database locked (tried again)

    def poll(self, seen: SeenRows) -> None:
        if self.conn is None:
            if not self.path.exists():
                return
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                        timeout=0.05, check_same_thread=False)
        try:
            rows = self.conn.execute(self.QUERY, (self.last_rowid,)).fetchall()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "no such table" in text:            # created, not yet initialised
                return
            if "locked" in text or "busy" in text:
                self.busy += 1
                return
            self.close()                           # reopened at the next poll
            raise
        now = wall_us()
        for _rowid, symbol, agg_id in rows:
            seen.add(symbol, agg_id, now)
        if rows:
            self.last_rowid = rows[-1][0]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SinkWatch(PollingWatch):
    """Watches the sinks a run writes (`sink`: jsonl, sqlite or dual) until `stop()`."""

    def __init__(self, run_dir: Path | str, sink: str, poll_ms: int = POLL_MS) -> None:
        super().__init__(poll_ms, "soak-sink-watch")
        run_dir = Path(run_dir)
        names = {"dual": SINKS}.get(sink, (sink,) if sink in SINKS else SINKS)
        readers = {"jsonl": lambda: JsonlTail(jsonl_path(run_dir)),
                   "sqlite": lambda: SqlitePoll(sqlite_path(run_dir))}
        self.readers = {name: readers[name]() for name in names}
        self.seen = {name: SeenRows() for name in names}

    def _poll(self) -> None:
        for name, reader in self.readers.items():
            try:
                reader.poll(self.seen[name])
            except Exception as exc:  # noqa: BLE001 - one sink's bad read spares the other
                self._error(f"{name}: {type(exc).__name__}: {exc}")

    def _finish(self) -> None:
        for reader in self.readers.values():
            reader.close()

    def counters(self, name: str) -> dict[str, int]:
        """What the reader of one sink counted besides its rows."""
        reader = self.readers[name]
        if isinstance(reader, JsonlTail):
            return {"torn_lines": reader.torn, "rewound": reader.rewound}
        return {"busy_polls": reader.busy}
