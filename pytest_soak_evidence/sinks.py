"""Readers of the signal sinks (JSONL and SQLite), shared by the pipeline, parity and harness.

A JSONL line counts only when it ends with a newline and parses as a JSON object; anything
else (the torn tail a SIGKILLed writer leaves, or a garbled line) is skipped and counted in
`torn`, so it never breaks a count.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

JSONL_NAME = "signals.jsonl"
SQLITE_NAME = "signals.sqlite"
SQLITE_TABLE = "signals"
BOOL_COLUMNS = ("confirm", "strong")
LOCK_RETRIES = 10
LOCK_DELAY_S = 0.05


class SinkRead(NamedTuple):
    rows: list[dict]
    torn: int


def sinks_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / "sinks"


def jsonl_path(run_dir: Path | str) -> Path:
    return sinks_dir(run_dir) / JSONL_NAME


def sqlite_path(run_dir: Path | str) -> Path:
    return sinks_dir(run_dir) / SQLITE_NAME


def parse_jsonl_line(line: bytes) -> dict | None:
    """The record of one complete line (newline included), or None when torn or garbled."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_jsonl_signals(path: Path | str) -> SinkRead:
    """Every complete row of a JSONL sink file, in file order, and the count of torn lines."""
    rows: list[dict] = []
    torn = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = parse_jsonl_line(line)
            if record is None:
                torn += 1
            else:
                rows.append(record)
    return SinkRead(rows, torn)


def read_sqlite_signals(path: Path | str) -> SinkRead:
    """Every row of the SQLite sink's `signals` table ordered by ts_ms, row_id (torn is 0).

    Opened read-only; a locked database is retried a few times, then the error is raised.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"SQLite sink {path} does not exist")
    for attempt in range(LOCK_RETRIES):
        try:
            return SinkRead(_select_all(path), 0)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(LOCK_DELAY_S * (attempt + 1))
    raise AssertionError("unreachable")


def _select_all(path: Path) -> list[dict]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        cursor = conn.execute(f"SELECT * FROM {SQLITE_TABLE} ORDER BY ts_ms, row_id")
        names = [d[0] for d in cursor.description]
        rows = []
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            for column in BOOL_COLUMNS:
                if column in row and row[column] is not None:
                    row[column] = bool(row[column])
            rows.append(row)
        return rows
    finally:
        conn.close()
