"""Live progress of a soak: one status line in a terminal, periodic plain lines in CI logs.

    soak 12:40/60:00 mkt (1m25s wall, 1m36s left) | 5210 ev/min 95 sig/min |
    harvest ok signal ok broker ok report ok | fault: feed-pause | alerts: no_data

In a terminal (a TTY) the line is redrawn in place (`\\r` + clear to end of line) at most a
few times a second; elsewhere (CI, pytest's captured output, a file) a full line is printed
every `interval_s` seconds, so a 60-minute LIVE log stays readable. Figures come from a
snapshot callable, so this module knows nothing about how they are measured.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class ProgressSnapshot:
    market_s: float
    total_market_s: float
    wall_s: float
    speed: float
    events_per_min: float | None = None
    signals_per_min: float | None = None
    stages: dict[str, bool | None] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    phase: str = "running"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _dur(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    mins, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{mins:02d}m"
    return f"{mins}m{secs:02d}s" if mins else f"{secs}s"


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def format_line(s: ProgressSnapshot) -> str:
    """The one-line summary (no colour, no control characters)."""
    left_wall = max(0.0, s.total_market_s - s.market_s) / s.speed if s.speed else 0.0
    stages = " ".join(f"{name} {'ok' if ok else ('?' if ok is None else 'DOWN')}"
                      for name, ok in s.stages.items()) or "stages ?"
    parts = [
        f"soak {s.phase} {_clock(s.market_s)}/{_clock(s.total_market_s)} mkt "
        f"({_dur(s.wall_s)} wall, {_dur(left_wall)} left)",
        f"{_rate(s.events_per_min)} ev/min {_rate(s.signals_per_min)} sig/min",
        stages,
        "fault: " + (", ".join(s.faults) if s.faults else "-"),
        "alerts: " + (", ".join(s.alerts) if s.alerts else "-"),
    ]
    return " | ".join(parts)


def is_interactive(stream: TextIO) -> bool:
    if os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Prints snapshots from a background thread until `stop()`."""

    def __init__(self, snapshot: Callable[[], ProgressSnapshot], interval_s: float,
                 stream: TextIO | None = None, interactive: bool | None = None,
                 tty_refresh_s: float = 0.5) -> None:
        self.snapshot = snapshot
        self.stream = stream or sys.__stdout__ or sys.stdout
        self.interactive = is_interactive(self.stream) if interactive is None else interactive
        self.period_s = tty_refresh_s if self.interactive else interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-progress", daemon=True)
        self._last = ""

    def start(self) -> None:
        self._thread.start()

    def stop(self, final: ProgressSnapshot | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if final is not None:
            self.emit(final)
        if self.interactive and self._last:
            self._write("\n")

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.emit(self.snapshot())
            except Exception as exc:  # noqa: BLE001 - progress must never kill a soak
                self._write(f"soak progress unavailable: {exc!r}\n")

    def emit(self, snap: ProgressSnapshot) -> None:
        line = format_line(snap)
        self._last = line
        if self.interactive:
            self._write("\r\x1b[2K" + line)
        else:
            self._write(line + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


class Rates:
    """Per-market-minute rates from cumulative counters sampled over time."""

    def __init__(self, window_market_s: float = 60.0) -> None:
        self.window = window_market_s
        self.points: list[tuple[float, float]] = []

    def add(self, market_s: float, count: float | None) -> None:
        if count is None:
            return
        self.points.append((market_s, count))
        while len(self.points) > 2 and market_s - self.points[1][0] >= self.window:
            self.points.pop(0)

    def per_min(self) -> float | None:
        if len(self.points) < 2:
            return None
        (t0, c0), (t1, c1) = self.points[0], self.points[-1]
        return None if t1 <= t0 else max(0.0, (c1 - c0) * 60.0 / (t1 - t0))
