"""Dual sink: every batch goes to the JSONL sink, then to the SQLite sink.

Both are idempotent on row_id, so a batch retried after one of them failed (or after a
SIGKILL between the two) ends up exactly once in each: after a graceful stop they hold the
same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.sinks.base import Sink, encode_row
from orchestrator.sinks.jsonl import JsonlSink
from orchestrator.sinks.sqlite import SqliteSink


class DualSink(Sink):
    kind = "dual"

    def __init__(self, jsonl: JsonlSink, sqlite: SqliteSink) -> None:
        super().__init__()
        self.jsonl = jsonl
        self.sqlite = sqlite

    def write_batch(self, rows: Sequence[dict], lines: Sequence[str] | None = None) -> int:
        lines = lines if lines is not None else [encode_row(row) for row in rows]
        new_jsonl = self.jsonl.write_batch(rows, lines)
        new_sqlite = self.sqlite.write_batch(rows, lines)
        return max(new_jsonl, new_sqlite)

    def close(self) -> None:
        try:
            self.jsonl.close()
        finally:
            self.sqlite.close()

    def metrics(self) -> dict:
        return {**self.jsonl.metrics(), **self.sqlite.metrics()}
