"""Event-time primitives: a sliding-window sum, a sampled rolling z-score, a rolling quantile.

Both are plain state that serialises to JSON (`to_state` / `from_state`) so the signal stage
can checkpoint and restore them exactly: a restarted stage computes the same numbers.
"""

from __future__ import annotations

import bisect
import math
from collections import deque


class WindowSum:
    """Sum (and count) of values whose event time lies in (now - window_ms, now]."""

    __slots__ = ("window_ms", "items", "total")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.items: deque[tuple[int, float]] = deque()
        self.total = 0.0

    def add(self, ts_ms: int, value: float) -> None:
        self.items.append((ts_ms, value))
        self.total += value

    def evict(self, now_ms: int) -> None:
        items = self.items
        horizon = now_ms - self.window_ms
        while items and items[0][0] <= horizon:
            self.total -= items.popleft()[1]
        if not items:
            self.total = 0.0          # no float residue once the window is empty

    def __len__(self) -> int:
        return len(self.items)

    def mean(self) -> float:
        return self.total / len(self.items) if self.items else 0.0

    def to_state(self) -> dict:
        # the running total itself, not a fresh sum: a restored window must give the very same
        # floats as one that never stopped
        return {"items": [list(item) for item in self.items], "total": self.total}

    def load_state(self, state: dict) -> None:
        self.items = deque((int(ts), float(v)) for ts, v in state["items"])
        self.total = float(state["total"])


class RollingZ:
    """z = (x - mean) / std over a history of samples, one per `sample_ms` bucket of event time.

    The history holds the value seen at the first evaluation of each new bucket, so its length
    is measured in event time, not in trade counts (bursts do not flood it). Mean and
    (population) std come from running sums, recomputed exactly every `max_samples` samples so
    float drift cannot build up.
    """

    __slots__ = ("sample_ms", "samples", "last_bucket", "total", "total_sq", "since_exact",
                 "mean", "std")

    def __init__(self, sample_ms: int, max_samples: int) -> None:
        self.sample_ms = sample_ms
        self.samples: deque[float] = deque(maxlen=max_samples)
        self.last_bucket: int | None = None
        self.total = self.total_sq = 0.0
        self.since_exact = 0
        self.mean = self.std = 0.0

    def observe(self, ts_ms: int, value: float) -> None:
        bucket = ts_ms // self.sample_ms
        if bucket == self.last_bucket:
            return
        self.last_bucket = bucket
        samples = self.samples
        if len(samples) == samples.maxlen:
            dropped = samples[0]
            self.total -= dropped
            self.total_sq -= dropped * dropped
        samples.append(value)
        self.total += value
        self.total_sq += value * value
        self.since_exact += 1
        if self.since_exact >= samples.maxlen:
            self.total = math.fsum(samples)
            self.total_sq = math.fsum(s * s for s in samples)
            self.since_exact = 0
        n = len(samples)
        self.mean = self.total / n
        self.std = math.sqrt(max(0.0, self.total_sq / n - self.mean * self.mean))

    def z(self, value: float, clip: float) -> float:
        if self.std <= 1e-9 * max(1.0, abs(self.mean)):
            return 0.0
        z = (value - self.mean) / self.std
        return max(-clip, min(clip, z))

    def scaled(self, value: float, clip: float) -> float:
        """value / std: the value in units of its spread, not centred (keeps a persistent bias)."""
        if self.std <= 1e-9 * max(1.0, abs(self.mean)):
            return 0.0
        return max(-clip, min(clip, value / self.std))

    def __len__(self) -> int:
        return len(self.samples)

    def to_state(self) -> dict:
        return {"samples": list(self.samples), "last_bucket": self.last_bucket,
                "total": self.total, "total_sq": self.total_sq, "since_exact": self.since_exact,
                "mean": self.mean, "std": self.std}

    def load_state(self, state: dict) -> None:
        self.samples = deque((float(s) for s in state["samples"]), maxlen=self.samples.maxlen)
        self.last_bucket = state["last_bucket"]
        for name in ("total", "total_sq", "mean", "std"):
            setattr(self, name, float(state[name]))
        self.since_exact = int(state["since_exact"])


class RollingQuantile:
    """The q-quantile (nearest rank) of values whose event time lies in (now - window_ms, now]."""

    __slots__ = ("window_ms", "q", "items", "ordered")

    def __init__(self, window_ms: int, q: float) -> None:
        self.window_ms = window_ms
        self.q = q
        self.items: deque[tuple[int, float]] = deque()
        self.ordered: list[float] = []

    def add(self, ts_ms: int, value: float) -> None:
        horizon = ts_ms - self.window_ms
        items, ordered = self.items, self.ordered
        while items and items[0][0] <= horizon:
            del ordered[bisect.bisect_left(ordered, items.popleft()[1])]
        items.append((ts_ms, value))
        bisect.insort(ordered, value)

    def value(self) -> float | None:
        if not self.ordered:
            return None
        rank = min(len(self.ordered) - 1, int(self.q * len(self.ordered)))
        return self.ordered[rank]

    def to_state(self) -> list:
        return [list(item) for item in self.items]

    def load_state(self, state: list) -> None:
        self.items = deque((int(ts), float(v)) for ts, v in state)
        self.ordered = sorted(v for _, v in self.items)
