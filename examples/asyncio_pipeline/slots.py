"""What the supervisor knows about one stage across its lives, and its restart backoff."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

RESTART_FIRST_S = 0.2      # the first restart's delay, doubling per quick death ...
RESTART_MAX_S = 5.0        # ... up to this
STABLE_AFTER_S = 10.0      # a life this long resets the delay to the first one
INBOX_MAX = 20_000         # lines held for a stage that is down or slow; the oldest go first


@dataclass
class Backoff:
    delay_s: float = RESTART_FIRST_S

    def next_delay(self, uptime_s: float) -> float:
        """The delay before the next start, given how long the life that just ended lasted."""
        if uptime_s >= STABLE_AFTER_S:
            self.delay_s = RESTART_FIRST_S
        delay, self.delay_s = self.delay_s, min(self.delay_s * 2, RESTART_MAX_S)
        return delay


@dataclass
class Slot:
    name: str
    downstream: str | None
    proc: asyncio.subprocess.Process | None = None
    started_mono: float | None = None
    last_hb_mono: float | None = None
    hb: dict[str, Any] = field(default_factory=dict)     # the newest heartbeat's fields
    restart_count: int = 0
    gave_up: bool = False
    stopping: bool = False
    stopped: bool = False
    last_exit: dict[str, Any] | None = None
    exits: list[dict[str, Any]] = field(default_factory=list)
    backoff: Backoff = field(default_factory=Backoff)
    inbox: deque[bytes] = field(default_factory=lambda: deque(maxlen=INBOX_MAX))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0        # lines pushed out of a full inbox
    lost: int = 0           # lines written to a stage that died before reading them

    @property
    def pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def offer(self, line: bytes) -> None:
        if len(self.inbox) == self.inbox.maxlen:
            self.dropped += 1
        self.inbox.append(line)
        self.wake.set()

    def heard(self, hb: dict[str, Any]) -> None:
        self.hb, self.last_hb_mono = hb, time.monotonic()

    def summary(self) -> dict[str, Any]:
        return {"restart_count": self.restart_count, "gave_up": self.gave_up,
                "exits": self.exits, "counters": self.hb.get("counters") or {},
                "malformed": self.hb.get("malformed", 0), "relay_dropped": self.dropped,
                "relay_lost": self.lost, "undelivered": len(self.inbox)}
