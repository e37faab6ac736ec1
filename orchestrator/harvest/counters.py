"""Counters that remember when they were incremented, and the harvester_metrics section."""

from __future__ import annotations

from collections import deque

COUNTERS = ("events_in", "queue_dropped", "reconnect_count", "substream_timeout_detected",
            "resync_count", "malformed_count", "snapshot_errors", "out_of_order_count")
SPAN_GAP_MS = 1_000


class TimedCounter:
    """A count, its newest increment times (exact), and spans [start_ms, end_ms, count] that
    merge increments < 1 s apart (bounded: the oldest spans merge), so a burst of drops reads
    as one span while single faults keep their own time."""

    def __init__(self, keep: int) -> None:
        self.count = 0
        self.times: deque[int] = deque(maxlen=keep)
        self.spans: deque[list[int]] = deque()
        self.keep = keep

    def add(self, now_ms: int, n: int = 1) -> None:
        self.count += n
        self.times.append(now_ms)
        if self.spans and now_ms - self.spans[-1][1] < SPAN_GAP_MS:
            self.spans[-1][1] = now_ms
            self.spans[-1][2] += n
            return
        self.spans.append([now_ms, now_ms, n])
        if len(self.spans) > self.keep:
            first = self.spans.popleft()
            self.spans[0][0] = first[0]
            self.spans[0][2] += first[2]

    def section(self) -> dict:
        return {"count": self.count, "timestamps_ms": list(self.times),
                "spans": [list(span) for span in self.spans]}
