"""Harvest's load shedding: at most N events per second of *event time*, per stream.

An ingest rate limit per stream, as Loki's `per_stream_rate_limit`: a feed storm beyond it is
shed before the handoff and counted (queue_dropped, alert data_drop) instead of growing the disk
writes and the signal stage's backlog without bound on a host shared with other work.

In event time, not wall time: a stream's events arrive in order on their connection, so which
of them are shed is a function of that stream's own events (their order and exchange times E)
and the config, whatever the CPU or the other connections are doing. A replay then sheds the
same events in every run of one seed, and a soak at 30x sheds exactly what 1x sheds.

A token bucket per stream that holds `burst_s` seconds of budget: a stream may run above its
limit for a moment (a trade burst, a quote flurry) but never for longer than the bucket lasts.
Sized from the busiest stream's rate with headroom (docs/data-sources.md); null = no limit.
"""

from __future__ import annotations


class StreamLimit:
    def __init__(self, per_s: float | None, burst_s: float) -> None:
        self.per_s = float(per_s) if per_s else None
        self.capacity = (self.per_s or 0.0) * float(burst_s)
        self._buckets: dict[str, list[float]] = {}     # stream -> [tokens, newest event ms]

    def admit(self, stream: str, event_ms: int) -> bool:
        """Whether this event of `stream` is within its limit (it spends a token if so)."""
        if self.per_s is None:
            return True
        bucket = self._buckets.get(stream)
        if bucket is None:
            bucket = self._buckets[stream] = [self.capacity, float(event_ms)]
        elif event_ms > bucket[1]:        # an event time that goes back refills nothing
            bucket[0] = min(self.capacity, bucket[0] + (event_ms - bucket[1]) * self.per_s / 1000)
            bucket[1] = float(event_ms)
        if bucket[0] < 1.0:
            return False
        bucket[0] -= 1.0
        return True
