"""Supervisor patches for D9's backoff (tests/mutations/behavioural_d9_backoff.py)."""

from __future__ import annotations

import time
from types import ModuleType


def _restart_at_once(module: ModuleType) -> None:
    """orchestrator.supervisor: the failure is booked as before (the declared delay goes into
    restart_backoff_pattern and the log), but the restart is due at once."""
    original = module.Supervisor._on_failure

    def on_failure(self, sp, reason: str) -> None:  # noqa: ANN001 -- the patched signature
        original(self, sp, reason)
        if sp.restart_due is not None:
            sp.restart_due = time.monotonic()

    module.Supervisor._on_failure = on_failure


def _never_reset(module: ModuleType) -> None:
    """orchestrator.restart: every failure counts as one more in a row, however long the
    stage had been up (the stable period is ignored); the delays it reports are those it
    applies."""
    original = module.RestartTracker.on_failure

    def on_failure(self, now: float, uptime_s: float) -> float | None:  # noqa: ANN001
        return original(self, now, 0.0)

    module.RestartTracker.on_failure = on_failure


PATCHES = {
    "supervisor restarts at once": ("orchestrator.supervisor", _restart_at_once),
    "backoff never resets": ("orchestrator.restart", _never_reset),
}
