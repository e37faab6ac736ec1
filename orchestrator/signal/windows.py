"""Event-time primitives: a sliding-window sum and a sampled rolling z-score.

Both are plain state that serialises to JSON (`to_state` / `from_state`) so the signal stage
can checkpoint and restore them exactly: a restarted stage computes the same numbers.
"""

from __future__ import annotations

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

    def to_state(self) -> list:
        return [list(item) for item in self.items]

    def load_state(self, state: list) -> None:
        self.items = deque((int(ts), float(v)) for ts, v in state)
        self.total = math.fsum(v for _, v in self.items)


class RollingZ:
    """z = (x - mean) / std over a history of samples, one per `sample_ms` bucket of event time.

    The history holds the value seen at the first evaluation of each new bucket, so its length
    is measured in event time, not in trade counts (bursts do not flood it). Mean and
    (population) std are recomputed exactly when a sample is added, i.e. once per bucket.
    """

    __slots__ = ("sample_ms", "samples", "last_bucket", "mean", "std")

    def __init__(self, sample_ms: int, max_samples: int) -> None:
        self.sample_ms = sample_ms
        self.samples: deque[float] = deque(maxlen=max_samples)
        self.last_bucket: int | None = None
        self.mean = 0.0
        self.std = 0.0

    def observe(self, ts_ms: int, value: float) -> None:
        bucket = ts_ms // self.sample_ms
        if bucket == self.last_bucket:
            return
        self.last_bucket = bucket
        self.samples.append(value)
        n = len(self.samples)
        self.mean = math.fsum(self.samples) / n
        self.std = math.sqrt(math.fsum((s - self.mean) ** 2 for s in self.samples) / n)

    def z(self, value: float, clip: float) -> float:
        if self.std <= 1e-12:
            return 0.0
        z = (value - self.mean) / self.std
        return max(-clip, min(clip, z))

    def __len__(self) -> int:
        return len(self.samples)

    def to_state(self) -> dict:
        return {"samples": list(self.samples), "last_bucket": self.last_bucket,
                "mean": self.mean, "std": self.std}

    def load_state(self, state: dict) -> None:
        self.samples = deque((float(s) for s in state["samples"]), maxlen=self.samples.maxlen)
        self.last_bucket = state["last_bucket"]
        self.mean = float(state["mean"])
        self.std = float(state["std"])
