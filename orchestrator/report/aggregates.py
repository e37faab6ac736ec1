"""Per-symbol, per-minute aggregates of the signal stream, keyed on EVENT time.

A minute [m, m + 60 s) closes once the watermark (the newest event time seen) has passed its
end by `lateness_ms`. Each closed minute is final: a signal that arrives for a closed minute is
counted in `late_records` and left out (the daily report, read from the sinks, still has it).
Minutes in which a symbol had no signal close as zero-count minutes, so a feed pause shows as
`total == 0` rather than as a hole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MINUTE_MS = 60_000
UNGATED = "none"                # gating reason recorded for a signal that passed every gate
LOW_CONSISTENCY = "low_consistency"


def minute_of(ts_ms: int) -> int:
    return ts_ms - ts_ms % MINUTE_MS


def gating_reasons(record: dict[str, Any]) -> list[str]:
    """The gating reasons of a signal record, tolerant of the field name and its shape."""
    value = record.get("gating", record.get("reason", record.get("gating_reason")))
    if value is None or value == "" or value == []:
        return [UNGATED]
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return [p for p in parts if p] or [UNGATED]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v] or [UNGATED]
    return [str(value)]


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


@dataclass
class MinuteAggregate:
    """One symbol's signals in one minute of event time."""

    symbol: str
    minute_ms: int
    total: int = 0
    confirm: int = 0
    strong: int = 0
    low_consistency: int = 0
    gating: dict[str, int] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        self.total += 1
        self.confirm += _flag(record.get("confirm"))
        self.strong += _flag(record.get("strong"))
        reasons = gating_reasons(record)
        self.low_consistency += LOW_CONSISTENCY in reasons
        for reason in reasons:
            self.gating[reason] = self.gating.get(reason, 0) + 1

    def merge(self, other: MinuteAggregate) -> None:
        self.total += other.total
        self.confirm += other.confirm
        self.strong += other.strong
        self.low_consistency += other.low_consistency
        for reason, count in other.gating.items():
            self.gating[reason] = self.gating.get(reason, 0) + count

    @property
    def strong_ratio(self) -> float:
        """strong / total, 0.0 for an empty minute: always in [0, 1]."""
        return self.strong / self.total if self.total else 0.0

    @property
    def low_consistency_share(self) -> float:
        """Share of the minute's signals gated as low_consistency, in [0, 1]."""
        return self.low_consistency / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "minute_ms": self.minute_ms, "total": self.total,
                "confirm": self.confirm, "strong": self.strong,
                "strong_ratio": self.strong_ratio,
                "low_consistency": self.low_consistency,
                "low_consistency_share": self.low_consistency_share,
                "gating_breakdown": dict(sorted(self.gating.items()))}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MinuteAggregate:
        return cls(symbol=doc["symbol"], minute_ms=int(doc["minute_ms"]), total=doc["total"],
                   confirm=doc["confirm"], strong=doc["strong"],
                   low_consistency=doc.get("low_consistency", 0),
                   gating=dict(doc.get("gating_breakdown", {})))


ALL_SYMBOLS = "ALL"


@dataclass
class ClosedMinute:
    """Every symbol's aggregate for one closed minute, plus their sum under ALL_SYMBOLS."""

    minute_ms: int
    by_symbol: dict[str, MinuteAggregate]
    partial: bool = False       # the run's last, unfinished minute (closed at shutdown)

    @property
    def combined(self) -> MinuteAggregate:
        out = MinuteAggregate(ALL_SYMBOLS, self.minute_ms)
        for agg in self.by_symbol.values():
            out.merge(agg)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"minute_ms": self.minute_ms, "partial": self.partial,
                "symbols": {s: a.to_dict() for s, a in sorted(self.by_symbol.items())}}


class MinuteAggregator:
    """Folds signal records into open minutes and closes them as the watermark advances."""

    def __init__(self, symbols: Iterable[str], lateness_ms: int) -> None:
        self.symbols: set[str] = {s.upper() for s in symbols}
        self.lateness_ms = lateness_ms
        self.watermark_ms: int | None = None
        self.next_minute_ms: int | None = None      # the oldest minute not yet closed
        self.open: dict[int, dict[str, MinuteAggregate]] = {}
        self.seen_row_ids: dict[int, set[str]] = {}
        self.records = 0
        self.late_records = 0
        self.duplicate_records = 0
        self.bad_records = 0

    def add(self, record: dict[str, Any]) -> bool:
        """Count one signal; False if it was late, a duplicate or unusable."""
        ts_ms = record.get("ts_ms")
        symbol = record.get("symbol")
        if not isinstance(ts_ms, int | float) or not isinstance(symbol, str):
            self.bad_records += 1
            return False
        ts_ms, symbol = int(ts_ms), symbol.upper()
        minute = minute_of(ts_ms)
        if self.next_minute_ms is None:
            self.next_minute_ms = minute
        if minute < self.next_minute_ms:
            self.late_records += 1
            return False
        row_id = record.get("row_id")
        if row_id is not None:                  # a re-read after a restart counts once
            seen = self.seen_row_ids.setdefault(minute, set())
            if str(row_id) in seen:
                self.duplicate_records += 1
                return False
            seen.add(str(row_id))
        self.symbols.add(symbol)
        bucket = self.open.setdefault(minute, {})
        bucket.setdefault(symbol, MinuteAggregate(symbol, minute)).add(record)
        self.records += 1
        self.advance(ts_ms)
        return True

    def advance(self, event_ms: int | None) -> None:
        """Move the watermark forward (never back), e.g. from the harvest's newest event."""
        if event_ms is None:
            return
        if self.watermark_ms is None or event_ms > self.watermark_ms:
            self.watermark_ms = int(event_ms)

    def close_ready(self) -> list[ClosedMinute]:
        """Every minute whose end + lateness the watermark has passed, oldest first."""
        if self.watermark_ms is None or self.next_minute_ms is None:
            return []
        closed = []
        while self.next_minute_ms + MINUTE_MS + self.lateness_ms <= self.watermark_ms:
            closed.append(self._close_next(partial=False))
        return closed

    def close_all(self) -> list[ClosedMinute]:
        """Shutdown: close every remaining minute up to the watermark (the last one partial)."""
        closed = self.close_ready()
        if self.watermark_ms is None or self.next_minute_ms is None:
            return closed
        while self.next_minute_ms <= self.watermark_ms:
            done = self.next_minute_ms + MINUTE_MS <= self.watermark_ms
            closed.append(self._close_next(partial=not done))
        return closed

    def _close_next(self, partial: bool) -> ClosedMinute:
        minute = self.next_minute_ms
        assert minute is not None
        bucket = self.open.pop(minute, {})
        self.seen_row_ids.pop(minute, None)
        by_symbol = {s: bucket.get(s) or MinuteAggregate(s, minute) for s in sorted(self.symbols)}
        self.next_minute_ms = minute + MINUTE_MS
        return ClosedMinute(minute, by_symbol, partial=partial)
