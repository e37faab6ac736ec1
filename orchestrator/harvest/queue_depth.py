"""The harvest queue's depth peaks, with time: the highest depth per wall-clock bucket.

So a reader of the manifest can tell a normal flow that stays far below `queue_max` from one
that brushes it, and *when* the queue was deep (outside or inside an induced fault). Bounded
for any run length: buckets start at BUCKET_MS wide; when there would be more than
BUCKETS_MAX, neighbours merge pairwise (max of the peaks) and the width doubles, so a 60-minute
run keeps 16 s buckets and a 3-minute gate 1 s buckets. A bucket in which nothing was queued
(a feed pause) is absent.
"""

from __future__ import annotations

import threading

BUCKET_MS = 1_000
BUCKETS_MAX = 240


class DepthPeaks:
    """`observe()` runs on the reader's hot path: one compare unless a bucket ends."""

    def __init__(self, bucket_ms: int = BUCKET_MS, buckets_max: int = BUCKETS_MAX) -> None:
        self.bucket_ms = bucket_ms
        self.buckets_max = buckets_max
        self.buckets: list[list[int]] = []     # closed: [start_ms, peak, peak_at_ms]
        self.peak = 0                           # over the whole run
        self.peak_ms: int | None = None
        self._start = self._end = 0             # the open bucket's [start, end)
        self._cur = -1                           # its peak so far (-1: nothing observed yet)
        self._cur_ms = 0
        self._lock = threading.Lock()           # the stage thread reads while the reader writes

    def observe(self, depth: int, now_ms: int) -> None:
        if now_ms >= self._end:
            self._roll(now_ms)
        if depth > self._cur:
            self._cur, self._cur_ms = depth, now_ms
            if depth > self.peak:
                self.peak, self.peak_ms = depth, now_ms

    def _roll(self, now_ms: int) -> None:
        with self._lock:
            if self._cur >= 0:
                self.buckets.append([self._start, self._cur, self._cur_ms])
                if len(self.buckets) > self.buckets_max:
                    self._merge()
            start = now_ms - now_ms % self.bucket_ms
            if self.buckets and self.buckets[-1][0] == start:   # a merge widened it: reopen
                _, self._cur, self._cur_ms = self.buckets.pop()
            else:
                self._cur = -1
            self._start, self._end = start, start + self.bucket_ms

    def _merge(self) -> None:
        """Double the width: buckets aligned to the new width become one (the higher peak)."""
        self.bucket_ms *= 2
        merged: list[list[int]] = []
        for start, peak, at in self.buckets:
            aligned = start - start % self.bucket_ms
            if merged and merged[-1][0] == aligned:
                if peak > merged[-1][1]:
                    merged[-1][1:] = [peak, at]
            else:
                merged.append([aligned, peak, at])
        self.buckets = merged

    def section(self) -> dict:
        with self._lock:
            rows = [list(row) for row in self.buckets]
            if self._cur >= 0:
                rows.append([self._start, self._cur, self._cur_ms])
            return {"bucket_ms": self.bucket_ms, "peak": self.peak, "peak_ms": self.peak_ms,
                    "buckets": rows}
