"""JSONL sink: one signal row per line, appended in one write per batch, fsynced per batch.

At open the file is read once (pytest_soak_evidence.sinks reader) to rebuild the set of
row_ids it holds; a torn tail left by a SIGKILLed writer (bytes after the last newline) is
counted and cut off, so the next append starts on a fresh line. Rows in it were never
committed (the offset they came from was not), so the signal stage derives them again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from orchestrator.sinks.base import Sink, encode_row
from pytest_soak_evidence.sinks import read_jsonl_signals

log = logging.getLogger(__name__)


class JsonlSink(Sink):
    kind = "jsonl"

    def __init__(self, path: Path | str, *, fsync: bool) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.row_ids: set[str] = set()
        if self.path.exists():
            self._load_existing()
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        self._fd: int | None = os.open(self.path, flags, 0o644)

    def _load_existing(self) -> None:
        cut = _cut_torn_tail(self.path)
        rows, torn = read_jsonl_signals(self.path)
        self.counters.torn_lines = torn + cut
        self.row_ids = {row["row_id"] for row in rows if "row_id" in row}
        if self.counters.torn_lines:
            log.warning("JSONL sink %s: %d torn line(s) skipped (%d tail cut)", self.path,
                        self.counters.torn_lines, cut)

    def write_batch(self, rows: Sequence[dict], lines: Sequence[str] | None = None) -> int:
        if self._fd is None:
            raise ValueError(f"JSONL sink {self.path} is closed")
        lines = lines if lines is not None else [encode_row(row) for row in rows]
        fresh: list[str] = []
        ids = self.row_ids
        for row, line in zip(rows, lines, strict=True):
            row_id = row["row_id"]
            if row_id in ids:
                self.counters.duplicates_skipped += 1
                continue
            ids.add(row_id)
            fresh.append(line)
        if fresh:
            self._write(("\n".join(fresh) + "\n").encode("utf-8"))
            self.counters.rows_written += len(fresh)
        return len(fresh)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        if self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


def _cut_torn_tail(path: Path) -> int:
    """Truncate bytes after the last newline; 1 if there were any, else 0."""
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        pos = size
        while pos > 0:
            step = min(65536, pos)
            handle.seek(pos - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = pos - step + newline + 1
                break
            pos -= step
        else:
            end = 0
        if end == size:
            return 0
        handle.truncate(end)
        handle.flush()
        os.fsync(handle.fileno())
        return 1
