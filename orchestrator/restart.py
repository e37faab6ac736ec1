"""Restart policy: exponential backoff with a cap, reset after a stable period, and a burst
limit (at most `max_restarts` within `window_s`; one more failure gives the stage up).

Pure bookkeeping, no processes: the supervisor asks `on_failure()` what to do."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RestartPolicy:
    initial_delay_s: float      # supervisor.restart in config/defaults.yaml
    factor: float
    max_delay_s: float
    stable_after_s: float
    max_restarts: int
    window_s: float

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> RestartPolicy:
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})

    def delay(self, consecutive: int) -> float:
        """Delay before the `consecutive`-th restart in a row (1-based)."""
        return min(self.max_delay_s, self.initial_delay_s * self.factor ** (consecutive - 1))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestartTracker:
    """One stage's restart history under a policy."""

    policy: RestartPolicy
    consecutive: int = 0
    restart_count: int = 0
    gave_up: bool = False
    delays_s: list[float] = field(default_factory=list)
    _recent: deque[float] = field(default_factory=deque)

    def on_failure(self, now: float, uptime_s: float) -> float | None:
        """The stage died or hung after `uptime_s`; the delay before restarting it, or None
        when the burst limit is reached (the stage is given up)."""
        if uptime_s >= self.policy.stable_after_s:
            self.consecutive = 0
        while self._recent and now - self._recent[0] > self.policy.window_s:
            self._recent.popleft()
        if len(self._recent) >= self.policy.max_restarts:
            self.gave_up = True
            return None
        self.consecutive += 1
        delay = round(self.policy.delay(self.consecutive), 3)
        self._recent.append(now)
        self.restart_count += 1
        self.delays_s.append(delay)
        return delay
