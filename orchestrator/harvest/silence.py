"""A sub-stream's own pace, for the silence watchdog (connection.py).

Real markets are not the generator: a thin symbol's aggTrade or bookTicker goes many seconds
without a message on the real exchange, while a busy one's gaps are milliseconds. A stream is
judged against its own observed gaps: silent when quiet for longer than
`substream_silence_factor` x the 90th percentile of its last GAPS_KEPT gaps, never sooner than
`substream_silence_floor_s` and never later than `substream_silence_s` (the bound: a real
stall is flagged within it whatever the stream's pace). Until a stream has shown MIN_GAPS gaps
it is judged by the bound alone.
"""

from __future__ import annotations

from collections import deque

GAPS_KEPT = 64
MIN_GAPS = 8
QUANTILE = 0.9


class StreamPace:
    def __init__(self) -> None:
        self.gaps: deque[float] = deque(maxlen=GAPS_KEPT)
        self.last: float | None = None

    def observe(self, now: float, bound_s: float) -> None:
        """A frame of the stream arrived at `now` (monotonic seconds)."""
        if self.last is not None and 0 <= now - self.last <= bound_s:
            self.gaps.append(now - self.last)       # longer: an outage or a stall, no pace
        self.last = now

    def restart(self) -> None:
        """After a flagged silence: the stall's gap is not the stream's pace."""
        self.last = None

    def typical_gap(self) -> float | None:
        if len(self.gaps) < MIN_GAPS:
            return None
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(QUANTILE * len(ordered)))]

    def limit(self, bound_s: float, floor_s: float, factor: float) -> float:
        """Seconds of silence (while the connection flows) after which the stream is silent."""
        gap = self.typical_gap()
        if gap is None:
            return bound_s
        return min(bound_s, max(floor_s, factor * gap))
