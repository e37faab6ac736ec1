"""Harvest's handoff write budget: at most N events per wall second appended to the handoff.

Load shedding at the source, as an ingest rate limit does (Loki's ingestion_rate_limit, a
Kafka producer quota): a feed storm beyond the budget fills the bounded queue and is then
dropped and counted (queue_dropped, alert data_drop) instead of growing the disk writes and the
signal stage's backlog without bound on a host shared with other work. Sized from the
configured streams' peak rate with headroom (docs/data-sources.md); null = no budget.

A token bucket that holds at most BURST_S seconds of budget, so the rate holds over any
slice longer than that: a burst that outruns it overflows the queue after
(queue_max + budget * BURST_S) / (arrival - budget) seconds, whatever the CPU is doing.
"""

from __future__ import annotations

import time

BURST_S = 0.1


class WriteBudget:
    def __init__(self, per_s: float | None, clock=time.monotonic) -> None:
        self.per_s = float(per_s) if per_s else None
        self._clock = clock
        self._tokens = (self.per_s or 0.0) * BURST_S
        self._at = clock()

    def allowance(self, wanted: int) -> int:
        """How many of `wanted` events may be written now (all of them without a budget)."""
        if self.per_s is None:
            return wanted
        now = self._clock()
        self._tokens = min(self.per_s * BURST_S, self._tokens + (now - self._at) * self.per_s)
        self._at = now
        return max(0, min(wanted, int(self._tokens)))

    def spend(self, written: int) -> None:
        if self.per_s is not None:
            self._tokens -= written
