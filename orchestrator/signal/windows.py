"""Event-time primitives: a sliding-window sum, a sampled rolling z-score, a rolling quantile.

Both are plain state that serialises to JSON (`to_state` / `from_state`) so the signal stage
can checkpoint and restore them exactly: a restarted stage computes the same numbers.

Running sums are kept in fixed point (`fixed`: an exact integer of 2**-64 units), not as a float
that values are added to and subtracted from: a float running sum carries a residue of its whole
history (two runs whose windows held the same values differed in the 16th digit for the rest of
the run after one different minute), an exact one depends only on what the window holds now.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

SCALE = 2 ** 64


def fixed(value: float) -> int:
    """`value` in exact 2**-64 units (a float times a power of two is exact; the rounding is a
    function of the value alone)."""
    return round(value * SCALE)


class WindowSum:
    """Sum (and count) of values whose event time lies in (now - window_ms, now]."""

    __slots__ = ("window_ms", "items", "acc")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.items: deque[tuple[int, float]] = deque()
        self.acc = 0                  # the exact sum, in fixed point

    @property
    def total(self) -> float:
        return self.acc / SCALE

    def add(self, ts_ms: int, value: float) -> None:
        self.items.append((ts_ms, value))
        self.acc += fixed(value)

    def evict(self, now_ms: int) -> None:
        items = self.items
        horizon = now_ms - self.window_ms
        while items and items[0][0] <= horizon:
            self.acc -= fixed(items.popleft()[1])

    def truncate_after(self, ts_ms: int) -> None:
        """Forget the values later than `ts_ms` (applied before a gap was known)."""
        items = self.items
        while items and items[-1][0] > ts_ms:
            self.acc -= fixed(items.pop()[1])

    def __len__(self) -> int:
        return len(self.items)

    def mean(self) -> float:
        return self.total / len(self.items) if self.items else 0.0

    def to_state(self) -> dict:
        return {"items": [list(item) for item in self.items]}

    def load_state(self, state: dict) -> None:
        # the exact sum is a function of the items alone: recomputed, it is the one that never
        # stopped
        self.items = deque((int(ts), float(v)) for ts, v in state["items"])
        self.acc = sum(fixed(v) for _, v in self.items)


class RollingZ:
    """z = (x - mean) / std over a history of samples, one per `sample_ms` bucket of event time.

    The history holds the value seen at the first evaluation of each new bucket, so its length
    is measured in event time, not in trade counts (bursts do not flood it). Mean and
    (population) std come from exact running sums (fixed point), so they are a function of the
    samples held.
    """

    __slots__ = ("sample_ms", "samples", "last_bucket", "acc", "acc_sq", "mean", "std")

    def __init__(self, sample_ms: int, max_samples: int) -> None:
        self.sample_ms = sample_ms
        self.samples: deque[float] = deque(maxlen=max_samples)
        self.last_bucket: int | None = None
        self.acc = self.acc_sq = 0
        self.mean = self.std = 0.0

    def observe(self, ts_ms: int, value: float) -> None:
        bucket = ts_ms // self.sample_ms
        if bucket == self.last_bucket:
            return
        self.last_bucket = bucket
        samples = self.samples
        if len(samples) == samples.maxlen:
            dropped = samples[0]
            self.acc -= fixed(dropped)
            self.acc_sq -= fixed(dropped * dropped)
        samples.append(value)
        self.acc += fixed(value)
        self.acc_sq += fixed(value * value)
        self._moments()

    def _moments(self) -> None:
        n = len(self.samples)
        if not n:
            self.mean = self.std = 0.0
            return
        self.mean = self.acc / (SCALE * n)
        self.std = math.sqrt(max(0.0, self.acc_sq / (SCALE * n) - self.mean * self.mean))

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
        return {"samples": list(self.samples), "last_bucket": self.last_bucket}

    def load_state(self, state: dict) -> None:
        self.samples = deque((float(s) for s in state["samples"]), maxlen=self.samples.maxlen)
        self.last_bucket = state["last_bucket"]
        self.acc = sum(fixed(s) for s in self.samples)
        self.acc_sq = sum(fixed(s * s) for s in self.samples)
        self._moments()


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
