"""A watch that polls something of a run on a daemon thread until `stop()`: the skeleton the
harness's own watches share (sink_watch.SinkWatch, ready_watch.ReadyWatch).

`_poll()` runs under the watch's lock every `poll_ms` wall ms, and once more at `stop()`,
then `_finish()` (so a reader of the results never sees a half-updated poll). An exception
from one poll is recorded (bounded) and the watch goes on: it must outlive one bad read.
"""

from __future__ import annotations

import threading
import time

MAX_ERRORS = 20


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class PollingWatch:
    def __init__(self, poll_ms: int, thread_name: str) -> None:
        self.poll_ms = poll_ms
        self.polls = 0
        self.errors: list[str] = []
        self.started_ms: int | None = None
        self.stopped_ms: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=thread_name, daemon=True)

    def start(self) -> None:
        self.started_ms = now_ms()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.poll()
        with self._lock:
            self._finish()
            self.stopped_ms = now_ms()

    def poll(self) -> None:
        with self._lock:
            self.polls += 1
            try:
                self._poll()
            except Exception as exc:  # noqa: BLE001 - the watch outlives one bad read
                self._error(f"{now_ms()}: {exc!r}")

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_ms / 1000):
            self.poll()

    def _error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def _poll(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """At `stop()`, after the last poll, under the lock."""
