"""SIGTERM handled like Ctrl+C, and a teardown a second SIGTERM does not cut short.

A CI service cancels a job with SIGINT and then SIGTERM (`kill PID` sends SIGTERM too). Python
turns SIGINT into KeyboardInterrupt but dies at once on SIGTERM, which would leave the pipeline,
the feed and the store running and no evidence written. Inside `sigterm_as_interrupt()` the
first SIGTERM raises `Terminated` (a KeyboardInterrupt, so the session tears down as after
Ctrl+C and pytest reports it interrupted) in the main thread; once `shield()` is called, for the
teardown, a SIGTERM is noted and ignored, so the pipeline still gets its stop and its sweep (the
teardown is bounded by the stop timeouts; SIGKILL remains the way out). Ctrl+C keeps Python's
own behaviour. Outside the main thread (no signal handling there) it does nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The harness received SIGTERM."""


class SigtermGuard:
    def __init__(self) -> None:
        self.shielded = False
        self.ignored = 0

    def shield(self) -> None:
        """From now on a SIGTERM is noted, not raised: the teardown runs to its end."""
        self.shielded = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.shielded:
            raise Terminated("SIGTERM")
        self.ignored += 1
        print("soak: SIGTERM during the teardown: finishing the stop and the sweep first",
              file=sys.stderr, flush=True)


@contextmanager
def sigterm_as_interrupt() -> Iterator[SigtermGuard]:
    guard = SigtermGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = signal.signal(signal.SIGTERM, guard.handle)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupt_reason(exc: BaseException) -> str:
    """How the history and dod.json name what cut a run short."""
    if isinstance(exc, Terminated):
        return "SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt (Ctrl+C)"
    return f"{type(exc).__name__}: {exc}"
