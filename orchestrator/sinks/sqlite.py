"""SQLite sink: table `signals` (row_id PRIMARY KEY, index on ts_ms), WAL, one transaction
per batch, parameterised INSERT OR IGNORE (idempotent on row_id).

A locked or busy database is retried with a growing delay; past the retries the batch is
refused with SinkUnavailable (the caller keeps it and reports the error).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

from orchestrator.sinks.base import SIGNAL_FIELDS, Sink, SinkUnavailable
from pytest_soak_evidence.sinks import SQLITE_TABLE

log = logging.getLogger(__name__)

COLUMN_TYPES = {
    "row_id": "TEXT PRIMARY KEY", "ts_ms": "INTEGER NOT NULL", "symbol": "TEXT NOT NULL",
    "agg_id": "INTEGER", "side": "TEXT", "gating": "TEXT", "regime": "TEXT",
    "confirm": "INTEGER NOT NULL", "strong": "INTEGER NOT NULL",
}
CREATE_TABLE = (f"CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} ("
                + ", ".join(f"{name} {COLUMN_TYPES.get(name, 'REAL')}" for name in SIGNAL_FIELDS)
                + ")")
CREATE_INDEX = f"CREATE INDEX IF NOT EXISTS {SQLITE_TABLE}_ts ON {SQLITE_TABLE}(ts_ms)"
ROW_VALUES = itemgetter(*SIGNAL_FIELDS)       # row dict -> parameter tuple, in C
INSERT = (f"INSERT OR IGNORE INTO {SQLITE_TABLE} ({', '.join(SIGNAL_FIELDS)}) "
          f"VALUES ({', '.join('?' for _ in SIGNAL_FIELDS)})")


def is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SqliteSink(Sink):
    kind = "sqlite"

    def __init__(self, path: Path | str, *, busy_timeout_ms: int, lock_retries: int,
                 retry_delay_ms: int, synchronous: str) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_retries = lock_retries
        self.retry_delay_s = retry_delay_ms / 1000.0
        self.last_error: str | None = None
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=busy_timeout_ms / 1000.0, isolation_level=None)
        self._retrying(lambda: self._init_schema(synchronous))

    def _init_schema(self, synchronous: str) -> None:
        conn = self._conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(CREATE_TABLE)
        conn.execute(CREATE_INDEX)

    def write_batch(self, rows: Sequence[dict], lines: Sequence[str] | None = None) -> int:
        if self._conn is None:
            raise ValueError(f"SQLite sink {self.path} is closed")
        if not rows:
            return 0
        params = list(map(ROW_VALUES, rows))
        new = self._retrying(lambda: self._insert(params))
        self.counters.rows_written += new
        self.counters.duplicates_skipped += len(rows) - new
        return new

    def _insert(self, params: list[tuple]) -> int:
        conn = self._conn
        before = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return conn.total_changes - before

    def _retrying(self, action):
        for attempt in range(self.lock_retries + 1):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not is_lock_error(exc):
                    raise
                self.last_error = f"{exc}"
                if attempt == self.lock_retries:
                    self.counters.errors += 1
                    raise SinkUnavailable(
                        f"SQLite sink {self.path} stayed locked after {attempt + 1} attempts "
                        f"({exc}); the batch is kept and retried") from exc
                self.counters.lock_retries += 1
                log.warning("SQLite sink %s locked (%s); retry %d", self.path, exc, attempt + 1)
                time.sleep(self.retry_delay_s * (2 ** attempt))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
