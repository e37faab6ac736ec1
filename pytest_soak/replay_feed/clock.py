"""The feed's market clock: market time = anchor + rate x wall elapsed (rate = speed x burst).

All times are epoch ms in the re-stamped domain. LIVE: the session starts at the wall 'now', so
at 1x the market clock *is* the wall clock (quasi-real time). REPLAY: it starts at the source's
first time plus whole days (engine.session_offset_ms), so one seed gives one set of stamps.
`max` speed has no clock: market time is simply the time of the last event delivered.

LIVE (`live`): event time must never run ahead of the wall clock. A burst then speeds up the
*source* clock only (which events are due: `now`), not the stamps: the events' timestamps
follow the base clock (`event_now`, speed x wall elapsed, no burst), so a live burst replays
`factor` x more events per second of the same event-time span (their inter-arrival is
compressed) and the source keeps its lead afterwards (`lead_ms`), never the stamps.
"""

from __future__ import annotations

import time


def wall_ms() -> int:
    return int(time.time() * 1000)


class MarketClock:
    def __init__(self, speed: float | None, live: bool = False) -> None:
        self.speed = speed            # None = max (as fast as the client reads)
        self.live = live and speed is not None
        self.burst = 1.0
        self._anchor_wall = time.monotonic()
        self._anchor_market = float(wall_ms())
        self.last_delivered_ms: int | None = None
        self.started = False

    @property
    def paced(self) -> bool:
        return self.speed is not None

    def start(self, market_ms: int) -> None:
        self.started = True
        self._anchor_wall = self._base_wall = time.monotonic()
        self._anchor_market = self._base_market = float(market_ms)

    def rate(self) -> float:
        return (self.speed or 0.0) * self.burst

    def now(self) -> int:
        if not self.paced:
            return self.last_delivered_ms if self.last_delivered_ms is not None else wall_ms()
        if not self.started:                 # before the session: the exchange's 'now'
            return wall_ms()
        elapsed_s = time.monotonic() - self._anchor_wall
        return int(self._anchor_market + self.rate() * 1000 * elapsed_s)

    def base_now(self) -> int:
        """The clock without any burst: speed x wall elapsed since the start."""
        if not self.paced or not self.started:
            return self.now()
        return int(self._base_market + self.speed * 1000 * (time.monotonic() - self._base_wall))

    def lead_ms(self) -> int:
        """How far the source runs ahead of the stamps (LIVE only; 0 otherwise)."""
        return max(0, self.now() - self.base_now()) if self.live and self.started else 0

    def event_now(self) -> int:
        """Event time now, as the stamps carry it (LIVE: the base clock, never ahead of now)."""
        return self.now() - self.lead_ms()

    def set_burst(self, factor: float) -> None:
        """Re-anchor so market time stays continuous while the rate changes."""
        if self.paced:
            self._anchor_market = self.now()
            self._anchor_wall = time.monotonic()
        self.burst = factor

    def wall_seconds_until(self, market_ms: int) -> float:
        if not self.paced:
            return 0.0
        return max(0.0, (market_ms - self.now()) / 1000 / self.rate())
