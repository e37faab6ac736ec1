"""The harness's view of market time: seconds of event time since the schedule's start.

With the replay feed, market time is the feed's own clock (`GET /control/state` ->
`market_ms`, `rate`), re-anchored once a second and extrapolated in between at the lower of
its rate and the soak's speed (a burst packs more events into each market second and leaves
the clock's pace alone; a slowed feed is followed, never over-estimated). Without a
feed (LIVE against the exchange) market time is wall time x speed.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class MarketClock:
    def __init__(self, speed: float, feed: Any = None, refresh_s: float = 0.25) -> None:
        self.speed = speed
        self.feed = feed
        self.refresh_s = refresh_s
        self.start_event_ms: int | None = None
        self.start_wall_ms: int | None = None
        self._anchor_mono = 0.0
        self._anchor_event_ms = 0.0
        self._rate = speed
        self._last_refresh = 0.0
        self._last_value = 0.0
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self.start_event_ms is not None

    def start(self, at_event_ms: int | None = None) -> None:
        """Market second 0 is `at_event_ms` (an event time reached already), else now."""
        self._last_value = 0.0            # monotonic from here: before, the feed's clock was
        self._refresh(force=True)         # the wall's, which its session's stamps may leave
        with self._lock:
            now = int(self._now_event_ms())
            self.start_event_ms = now if at_event_ms is None else min(int(at_event_ms), now)
            self.start_wall_ms = int(time.time() * 1000) - int(
                (now - self.start_event_ms) / self.speed)

    def invalidate(self) -> None:
        """The feed's rate may have changed (a burst started or ended): re-read it now."""
        if self.started:
            self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        mono = time.monotonic()
        if not force and mono - self._last_refresh < self.refresh_s:
            return
        self._last_refresh = mono
        if self.feed is None:
            if force:
                with self._lock:
                    self._anchor_mono, self._anchor_event_ms = mono, time.time() * 1000
            return
        try:
            state = self.feed.state(timeout_s=1.0)
        except Exception:  # noqa: BLE001 - keep extrapolating on the last anchor
            if force:
                with self._lock:
                    self._anchor_mono, self._anchor_event_ms = mono, time.time() * 1000
            return
        with self._lock:
            # Anchor at the reply's arrival, not at the request: the feed read its clock
            # somewhere in between, so the later instant can only under-estimate market time
            # (anchoring at the request ran ahead by the round trip x the rate).
            self._anchor_mono = time.monotonic()
            self._anchor_event_ms = float(state.get("market_ms") or time.time() * 1000)
            rate = state.get("rate")
            self._rate = float(rate) if rate else self.speed

    def _now_event_ms(self) -> float:
        # Never faster than the soak's speed: an over-estimate would run the schedule ahead of
        # the feed; an under-estimate is safe, the next refresh catches up.
        rate = min(self._rate, self.speed) if self.feed is not None else self.speed
        value = self._anchor_event_ms + rate * 1000 * (time.monotonic() - self._anchor_mono)
        self._last_value = max(self._last_value, value)        # market time never goes back
        return self._last_value

    def event_ms(self) -> int:
        self._refresh()
        with self._lock:
            return int(self._now_event_ms())

    def market_s(self) -> float:
        if self.start_event_ms is None:
            return 0.0
        return max(0.0, (self.event_ms() - self.start_event_ms) / 1000)
