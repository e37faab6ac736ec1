"""The feed's stamps: source time -> event time, a function of the source and the plan alone.

Outside a burst a stamp is the source time plus the session offset (whole days in REPLAY, the
wall 'now' in LIVE: engine.session_offset_ms). A burst of `factor` packs `factor` source ms
into each ms of event time from the first event after it starts: the event rate rises
`factor` x while event time keeps the clock's pace, so in LIVE no stamp runs ahead of the wall
clock, and in REPLAY the events a burst delivers, and their stamps, are the same in every run
with one seed (a consumer that sheds load by event time sheds the same events). When the burst
ends the offset takes up what it packed, so stamps continue where they were. Stamps never go
back.
"""

from __future__ import annotations


class Stamps:
    def __init__(self) -> None:
        self.offset_ms = 0
        self.factor = 1.0
        self._anchor: tuple[int, int] | None = None   # (source ms, stamp ms) the burst packs from
        self.last_stamp_ms = 0
        self._last_source_ms: int | None = None

    def start(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms

    def stamp(self, source_ms: int) -> int:
        """The event time of the next record (source times never go back)."""
        if self.factor == 1.0:
            stamp = source_ms + self.offset_ms
        else:
            if self._anchor is None:
                self._anchor = (source_ms, max(source_ms + self.offset_ms, self.last_stamp_ms))
            anchor_source, anchor_stamp = self._anchor
            stamp = anchor_stamp + int((source_ms - anchor_source) / self.factor)
        stamp = max(stamp, self.last_stamp_ms)
        self.last_stamp_ms, self._last_source_ms = stamp, source_ms
        return stamp

    def set_factor(self, factor: float) -> None:
        """A burst starts (factor > 1), changes, or ends (1): packing starts at the next
        record; what was packed so far becomes part of the offset."""
        if factor <= 0:
            raise ValueError("a burst factor must be > 0")
        if self._anchor is not None and self._last_source_ms is not None:
            self.offset_ms = self.last_stamp_ms - self._last_source_ms
        self._anchor = None
        self.factor = float(factor)
