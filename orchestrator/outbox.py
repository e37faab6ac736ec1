"""The execution outbox (seed 003): append to spool/<name>.part, publish by atomic rename.

A reader of `ready/` only ever sees whole files: events are appended to `spool/<name>.part`
and a file moves to `ready/<name>.jsonl` in one rename when its event-time minute rolls over,
when it reaches `max_file_bytes`, on `flush()` and on `close()`. The part file is fsynced every
`fsync_every` appends and always before it is published; on POSIX the `ready/` directory is
fsynced after the rename so the publication survives a power loss. The rename is retried on a
transient error (Windows sharing violation) by
`pytest_soak_evidence.atomic.replace_with_retry`; a file whose rename keeps failing stays
pending and is retried at the next publication.

At start, `.part` files left by a crash are recovered: complete lines are published, a torn
last line (the writer died mid-write) is dropped and counted, and nothing is published twice
(a part file and its ready twin never both survive a rename).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_soak_evidence.atomic import fsync_dir, replace_with_retry, write_bytes_atomic

PART_SUFFIX = ".part"
READY_SUFFIX = ".jsonl"
MINUTE_MS = 60_000

log = logging.getLogger(__name__)


class OutboxError(RuntimeError):
    """A part file could not be published; it stays in spool/ and is recovered at next start."""


@dataclass
class RecoveryReport:
    files: int = 0          # leftover part files found
    published_files: int = 0
    events: int = 0         # complete lines published
    torn_lines: int = 0     # torn or unparsable lines dropped
    empty_files: int = 0    # part files with nothing to publish (removed)


@dataclass
class OutboxStats:
    appended: int = 0
    fsyncs: int = 0
    published_files: int = 0
    published_events: int = 0
    rename_failures: int = 0


@dataclass
class _OpenPart:
    name: str
    minute: int
    handle: Any
    events: int = 0
    bytes: int = 0
    unsynced: int = 0


def minute_label(ts_ms: int) -> str:
    return time.strftime("%Y%m%dT%H%M", time.gmtime(ts_ms // 1000))


def outbox_settings(section: dict[str, Any]) -> dict[str, Any]:
    """Outbox's keyword arguments from the whole `outbox` config section."""
    return {"fsync_every": int(section["fsync_every"]),
            "max_file_bytes": int(float(section["max_file_mb"]) * 1024 * 1024),
            "prefix": section["prefix"], "rename_attempts": int(section["rename_attempts"]),
            "rename_delay_s": float(section["rename_delay_s"])}


class Outbox:
    """Single-writer outbox under `root` (`root/spool`, `root/ready`)."""

    def __init__(self, root: Path | str, *, fsync_every: int, max_file_bytes: int, prefix: str,
                 rename_attempts: int, rename_delay_s: float,
                 on_durable: Callable[[int], None] | None = None) -> None:
        """The settings are the `outbox` config section's (`outbox_settings`)."""
        if fsync_every < 1:
            raise ValueError(f"outbox fsync_every must be >= 1, got {fsync_every}")
        self.root = Path(root)
        self.spool = self.root / "spool"
        self.ready = self.root / "ready"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.ready.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.fsync_every = fsync_every
        self.max_file_bytes = max_file_bytes
        self.rename_attempts = rename_attempts
        self.rename_delay_s = rename_delay_s
        self.on_durable = on_durable  # called with the count of appends made durable so far
        self.stats = OutboxStats()
        # A session token keeps this process's file names apart from any earlier writer's.
        self._session = f"{int(time.time() * 1000):x}-{os.getpid()}"
        self._seq = 0
        self._current: _OpenPart | None = None
        self._pending: list[str] = []
        self.recovery = self.recover()

    # -- writing ---------------------------------------------------------------------------
    def append(self, event: dict, ts_ms: int | None = None) -> None:
        """Append one event; its minute (event["ts_ms"] unless given) picks the file."""
        self.append_line(json.dumps(event, separators=(",", ":"), allow_nan=False),
                         event["ts_ms"] if ts_ms is None else ts_ms)

    def append_line(self, line: str, ts_ms: int) -> None:
        """Append one pre-serialised JSON object (no newline)."""
        minute = ts_ms // MINUTE_MS
        part = self._current
        # An older minute (late event) stays in the current file rather than churn files.
        if part is not None and (minute > part.minute or part.bytes >= self.max_file_bytes):
            self._publish_current()
            part = None
        if part is None:
            part = self._open_part(minute)
        data = line + "\n"
        part.handle.write(data)
        part.events += 1
        part.bytes += len(data)
        part.unsynced += 1
        self.stats.appended += 1
        if part.unsynced >= self.fsync_every:
            self._sync(part)
        if part.bytes >= self.max_file_bytes:
            self._publish_current()

    def roll(self, ts_ms: int) -> None:
        """Event time has reached `ts_ms`: publish the open file if its minute is over, even
        when no new event arrives to trigger the rollover."""
        part = self._current
        if part is not None and ts_ms // MINUTE_MS > part.minute:
            self._publish_current()

    def sync(self) -> None:
        """Make every append so far durable without publishing."""
        if self._current is not None and self._current.unsynced:
            self._sync(self._current)

    def flush(self) -> None:
        """Publish the open part file and retry any pending publication."""
        self._publish_current()
        self._retry_pending()

    def close(self) -> None:
        self.flush()
        if self._pending:
            raise OutboxError(f"outbox: {len(self._pending)} part file(s) could not be published"
                              f" and stay in {self.spool}: {self._pending[:3]}")

    @property
    def pending_files(self) -> list[str]:
        return list(self._pending)

    # -- internals ---------------------------------------------------------------------------
    def _open_part(self, minute: int) -> _OpenPart:
        self._seq += 1
        name = f"{self.prefix}_{minute_label(minute * MINUTE_MS)}_{self._session}_{self._seq:05d}"
        handle = open(self.spool / (name + PART_SUFFIX), "x", encoding="utf-8", newline="\n")
        fsync_dir(self.spool)  # the part file itself survives a power loss
        self._current = _OpenPart(name=name, minute=minute, handle=handle)
        return self._current

    def _sync(self, part: _OpenPart) -> None:
        part.handle.flush()
        os.fsync(part.handle.fileno())
        part.unsynced = 0
        self.stats.fsyncs += 1
        if self.on_durable is not None:
            self.on_durable(self.stats.appended)

    def _publish_current(self) -> None:
        part = self._current
        if part is None:
            return
        if part.unsynced:
            self._sync(part)
        part.handle.close()
        self._current = None
        if part.events == 0:
            (self.spool / (part.name + PART_SUFFIX)).unlink(missing_ok=True)
            return
        if self._publish(part.name):
            self.stats.published_files += 1
            self.stats.published_events += part.events
        else:
            self._pending.append(part.name)

    def _publish(self, name: str) -> bool:
        src = self.spool / (name + PART_SUFFIX)
        try:
            replace_with_retry(src, self.ready / (name + READY_SUFFIX),
                               attempts=self.rename_attempts, delay_s=self.rename_delay_s)
        except OSError as exc:
            self.stats.rename_failures += 1
            log.warning("outbox: publishing %s failed (%s); it stays pending", src, exc)
            return False
        fsync_dir(self.ready)
        return True

    def _retry_pending(self) -> None:
        still: list[str] = []
        for name in self._pending:
            if self._publish(name):
                self.stats.published_files += 1
                self.stats.published_events += count_lines(self.ready / (name + READY_SUFFIX))
            else:
                still.append(name)
        self._pending = still

    # -- recovery ----------------------------------------------------------------------------
    def recover(self) -> RecoveryReport:
        """Publish what earlier writers left in spool/; safe to run again after a crash."""
        report = RecoveryReport()
        for stale in self.spool.glob(".*.tmp"):  # an interrupted rewrite below
            stale.unlink(missing_ok=True)
        for part_path in sorted(self.spool.glob("*" + PART_SUFFIX)):
            report.files += 1
            name = part_path.name[: -len(PART_SUFFIX)]
            if (self.ready / (name + READY_SUFFIX)).exists():
                part_path.unlink()  # published already; a rename leaves no twin behind
                continue
            kept, events, torn = _complete_lines(part_path.read_bytes())
            report.torn_lines += torn
            if events == 0:
                part_path.unlink()
                report.empty_files += 1
                continue
            if len(kept) != part_path.stat().st_size:
                write_bytes_atomic(part_path, kept)  # drop torn/bad lines, idempotently
            if not self._publish(name):
                raise OutboxError(f"outbox recovery: cannot publish {part_path}")
            report.published_files += 1
            report.events += events
        if report.files:
            log.warning("outbox recovery: %s", report)
        return report


def _complete_lines(data: bytes) -> tuple[bytes, int, int]:
    """(bytes of the complete, parsable lines, their count, lines dropped)."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    torn = 1 if tail else 0
    kept: list[bytes] = []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            if not isinstance(json.loads(raw), dict):
                raise ValueError("not a JSON object")
        except ValueError:
            torn += 1
            continue
        kept.append(raw)
    body = b"\n".join(kept) + b"\n" if kept else b""
    return body, len(kept), torn


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)
