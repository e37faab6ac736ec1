"""The exporter interface and the retrying queue in front of it.

A batch is one closed minute, as a plain dict (so it can be persisted):
    {"minute_ms", "partial", "symbols": {SYM: per-minute aggregate},
     "run": {SYM: cumulative totals over closed minutes}, "harvester": {...},
     "executor": {...}, "export": {export_count, error_count, backlog}}
A store that is down never stops the run: the queue keeps the batches, retries with
exponential backoff, counts and timestamps every failed attempt and logs a warning.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("orchestrator.exporters")
MAX_FAILURE_TIMES = 10_000      # bounded memory even for a store down for days


class TimeseriesExporter(ABC):
    """One store. `check` and `write` raise (OSError, requests/influx errors) on failure."""

    kind: str = "?"
    url: str = ""

    @abstractmethod
    def check(self) -> None:
        """Reachability precheck: raise if the store cannot take writes."""

    @abstractmethod
    def write(self, batch: dict[str, Any]) -> None:
        """Write one minute batch; idempotent (writing the same batch twice changes nothing)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold no connection
        """Release connections."""


def figure(value: Any) -> float | None:
    """A metric figure as a number: plain numbers and booleans, or the "count" of a
    {"count": N, "timestamps_ms": [...]} record (the harvest stage's event counters)."""
    if isinstance(value, dict):
        value = value.get("count")
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def numeric_fields(doc: dict[str, Any] | None) -> dict[str, float]:
    """The numeric figures of a metrics dict as floats; one level of nested dicts is
    flattened as `<key>_<sub>` (a counter record becomes `<key>`), lists are skipped."""
    out = {}
    for key, value in (doc or {}).items():
        number = figure(value)
        if number is not None:
            out[str(key)] = number
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, bool | int | float):
                    out[f"{key}_{sub}"] = float(inner)
    return out


class ExportQueue:
    """Backlog + exponential backoff + counters in front of one exporter (or none)."""

    def __init__(self, exporter: TimeseriesExporter | None, backoff_initial_s: float,
                 backoff_max_s: float, max_backlog: int,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.exporter = exporter
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.backlog: deque[dict[str, Any]] = deque()
        self.max_backlog = max_backlog
        self.clock, self.wall_ms = clock, wall_ms
        self.export_count = 0
        self.error_count = 0
        self.dropped_batches = 0
        self.last_error: str | None = None
        self.failures: list[int] = []
        self.consecutive_failures = 0
        self.next_attempt = 0.0
        self.reachable_at_start: bool | None = None

    @property
    def kind(self) -> str:
        return self.exporter.kind if self.exporter else "none"

    def precheck(self) -> bool:
        """Check reachability once at start; a failure is counted and warned, never fatal."""
        if self.exporter is None:
            return True
        try:
            self.exporter.check()
            self.reachable_at_start = True
            log.info("time-series store %s at %s is reachable", self.kind, self.exporter.url)
        except Exception as exc:  # noqa: BLE001 - any client error means "not reachable"
            self.reachable_at_start = False
            self._failed(exc, "precheck")
        return bool(self.reachable_at_start)

    def submit(self, batch: dict[str, Any]) -> None:
        if self.exporter is None:
            return
        self.backlog.append(batch)
        while len(self.backlog) > self.max_backlog:
            self.backlog.popleft()
            self.dropped_batches += 1

    @property
    def failing(self) -> bool:
        """True while some closed minute is not in the store yet."""
        return bool(self.backlog)

    def pump(self, max_batches: int = 20, force: bool = False) -> int:
        """Write pending batches oldest first, unless backing off; returns how many went out."""
        if self.exporter is None or not self.backlog:
            return 0
        if not force and self.clock() < self.next_attempt:
            return 0
        sent = 0
        while self.backlog and sent < max_batches:
            try:
                self.exporter.write(self.backlog[0])
            except Exception as exc:  # noqa: BLE001 - a store error must never stop the run
                self._failed(exc, f"minute {self.backlog[0].get('minute_ms')}")
                break
            self.backlog.popleft()
            self.export_count += 1
            sent += 1
            if self.consecutive_failures:
                log.warning("time-series store %s is back after %d failed attempts",
                            self.kind, self.consecutive_failures)
            self.consecutive_failures = 0
            self.next_attempt = 0.0
        return sent

    def _failed(self, exc: BaseException, what: str) -> None:
        self.error_count += 1
        self.consecutive_failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if len(self.failures) < MAX_FAILURE_TIMES:
            self.failures.append(self.wall_ms())
        delay = min(self.backoff_max_s,
                    self.backoff_initial_s * 2 ** (self.consecutive_failures - 1))
        self.next_attempt = self.clock() + delay
        log.warning("time-series export to %s failed (%s, attempt %d, %d minute(s) waiting); "
                    "retrying in %.1f s: %s", self.kind, what, self.consecutive_failures,
                    len(self.backlog), delay, self.last_error)

    def section(self) -> dict[str, Any]:
        """run_manifest.timeseries_export"""
        return {"type": self.kind, "url": self.exporter.url if self.exporter else None,
                "reachable_at_start": self.reachable_at_start,
                "export_count": self.export_count, "error_count": self.error_count,
                "last_error": self.last_error, "failures": list(self.failures),
                "backlog": len(self.backlog), "dropped_batches": self.dropped_batches}

    def state_dict(self) -> dict[str, Any]:
        return {**self.section(), "pending": list(self.backlog)}

    def load_state(self, doc: dict[str, Any]) -> None:
        self.export_count = int(doc.get("export_count", 0))
        self.error_count = int(doc.get("error_count", 0))
        self.last_error = doc.get("last_error")
        self.failures = list(doc.get("failures", []))
        self.dropped_batches = int(doc.get("dropped_batches", 0))
        self.reachable_at_start = doc.get("reachable_at_start")
        self.backlog.extend(doc.get("pending", []))
