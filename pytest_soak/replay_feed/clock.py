"""The feed's market clock: market time = anchor + speed x wall elapsed.

All times are epoch ms in the re-stamped domain. LIVE: the session starts at the wall 'now', so
at 1x the market clock *is* the wall clock (quasi-real time) and no event, paced by it, is ever
stamped ahead of now. REPLAY: it starts at the source's first time plus whole days
(engine.session_offset_ms), so one seed gives one set of stamps. `max` speed has no clock:
market time is simply the time of the last event delivered.

A burst never touches the clock (stamps.Stamps): it packs `factor` x more of the source into
each second of event time, so the event rate rises and event time keeps its pace, in both
modes.
"""

from __future__ import annotations

import time


def wall_ms() -> int:
    return int(time.time() * 1000)


class MarketClock:
    def __init__(self, speed: float | None, live: bool = False) -> None:
        self.speed = speed            # None = max (as fast as the client reads)
        self.live = live and speed is not None
        self._anchor_wall = time.monotonic()
        self._anchor_market = float(wall_ms())
        self.last_delivered_ms: int | None = None
        self.started = False

    @property
    def paced(self) -> bool:
        return self.speed is not None

    def start(self, market_ms: int) -> None:
        self.started = True
        self._anchor_wall = time.monotonic()
        self._anchor_market = float(market_ms)

    def rate(self) -> float:
        """Market ms per wall ms (0 at max speed: no clock)."""
        return self.speed or 0.0

    def now(self) -> int:
        if not self.paced:
            return self.last_delivered_ms if self.last_delivered_ms is not None else wall_ms()
        if not self.started:                 # before the session: the exchange's 'now'
            return wall_ms()
        elapsed_s = time.monotonic() - self._anchor_wall
        return int(self._anchor_market + self.rate() * 1000 * elapsed_s)

    def wall_seconds_until(self, market_ms: int) -> float:
        if not self.paced:
            return 0.0
        return max(0.0, (market_ms - self.now()) / 1000 / self.rate())
