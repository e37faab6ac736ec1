"""The Stage base every pipeline stage shares: run loop, heartbeat, stop request, flush.

A stage subclass is only its logic (setup/step/flush/close); this base owns the lifecycle:
- heartbeat: `status/<stage>.json` rewritten atomically every `heartbeat_interval_s`;
- stop request: SIGTERM/SIGINT, the file `control/<stage>.stop` (portable fallback), or the
  supervisor gone (psutil watch; on Linux also PR_SET_PDEATHSIG) -> flush(), close(), exit 0.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import psutil

from orchestrator.config import section
from pytest_soak_evidence.atomic import write_json_atomic

IDLE_SLEEP_S = 0.02          # after a step that did no work
STOP_CHECK_S = 0.1           # how often the stop file and the parent are checked
PR_SET_PDEATHSIG = 1


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class StageContext:
    name: str
    run_dir: Path
    run_id: str
    config: dict
    sink: str                 # jsonl | sqlite | dual
    replay_mode: bool
    supervisor_pid: int | None
    log: logging.Logger

    def status_path(self, stage: str | None = None) -> Path:
        return self.run_dir / "status" / f"{stage or self.name}.json"

    def stop_file(self, stage: str | None = None) -> Path:
        return self.run_dir / "control" / f"{stage or self.name}.stop"


class Stage:
    """Base class; override the hooks, call `run()` (stage_main does)."""

    name: ClassVar[str] = "stage"

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.log = ctx.log
        self.stop_requested = False
        self.stop_reason: str | None = None
        self._state = "starting"
        self._setup_done = False
        self._started_ms = now_ms()
        self._heartbeat_s = float(section(ctx.config, "supervisor")["heartbeat_interval_s"])
        self._last_event_ms: int | None = None
        self._last_event_wall_ms: int | None = None
        self._parent = _watch_process(ctx.supervisor_pid)

    # ---- subclass hooks -------------------------------------------------------------------
    def setup(self) -> None:
        """Open connections/files; runs before the loop."""

    def step(self) -> bool:
        """One bounded unit of work (< ~100 ms). True if it did work."""
        raise NotImplementedError

    def flush(self) -> None:
        """Persist every in-memory queue durably."""

    def close(self) -> None:
        """Release resources (after the final flush)."""

    def is_ready(self) -> bool:
        return self._setup_done

    def metrics(self) -> dict:
        return {}

    def manifest_sections(self) -> dict:
        return {}

    def last_event_ms(self) -> int | None:
        return None

    # ---- lifecycle --------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if not self.stop_requested:
            self.log.info("stop requested: %s", reason)
        self.stop_requested = True
        self.stop_reason = self.stop_reason or reason

    def run(self) -> int:
        self._install_stop_handlers()
        self.write_status()
        self.setup()
        self._setup_done = True
        self._state = "running"
        self.write_status()
        try:
            self._loop()
        except Exception:
            # Crash, but persist what is queued first; the supervisor restarts the stage.
            self.log.exception("stage failed; flushing before exit")
            self.request_stop("stage failed")
            self._shutdown()
            return 1
        return self._shutdown()

    def drain(self) -> int:
        """Finaliser mode, run once after every stage has stopped: do the work still waiting in
        the stage's inputs (step until idle), then flush and close as at a graceful stop."""
        self.setup()
        self._setup_done = True
        self._state = "running"
        while self.step():
            pass
        self.request_stop("drained")
        return self._shutdown()

    def _loop(self) -> None:
        next_beat = next_check = time.monotonic()
        while not self.stop_requested:
            did_work = self.step()
            now = time.monotonic()
            if now >= next_check:
                self._check_stop_sources()
                next_check = now + STOP_CHECK_S
            if now >= next_beat:
                self.write_status()
                next_beat = now + self._heartbeat_s
            if not did_work and not self.stop_requested:
                time.sleep(IDLE_SLEEP_S)

    def _shutdown(self) -> int:
        self._state = "stopping"
        self.write_status()
        try:
            self.flush()
        finally:
            self.close()
        self._state = "stopped"
        self.write_status()
        self.log.info("stopped (%s)", self.stop_reason)
        return 0

    def _check_stop_sources(self) -> None:
        if self.ctx.stop_file().exists():
            self.request_stop("stop file")
        elif self._parent is not None and not self._parent.is_running():
            self.request_stop("supervisor gone")

    def _install_stop_handlers(self) -> None:
        def on_signal(signum: int, _frame: Any) -> None:
            self.request_stop(signal.Signals(signum).name)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        if hasattr(signal, "SIGBREAK"):            # Windows console break
            signal.signal(signal.SIGBREAK, on_signal)
        _die_with_parent()
        # The parent may have died before prctl took effect.
        if self._parent is not None and not self._parent.is_running():
            self.request_stop("supervisor gone")

    # ---- heartbeat --------------------------------------------------------------------------
    def status(self) -> dict:
        # Hooks are only called once setup() has run: before it, a stage's state may not exist.
        last_event = self.last_event_ms() if self._setup_done else None
        if last_event is None:
            last_event = self._last_event_ms
        else:
            if last_event != self._last_event_ms:
                self._last_event_wall_ms = now_ms()
            self._last_event_ms = last_event
        ready = self._setup_done and self._state == "running" and bool(self.is_ready())
        return {
            "stage": self.ctx.name,
            "pid": os.getpid(),
            "state": self._state,
            "ready": ready,
            "started_ms": self._started_ms,
            "heartbeat_ms": now_ms(),
            "last_event_ms": last_event,
            "last_event_wall_ms": self._last_event_wall_ms if last_event is not None else None,
            "metrics": self.metrics() if self._setup_done else {},
            "manifest": self.manifest_sections() if self._setup_done else {},
        }

    def write_status(self) -> None:
        # Not fsynced: the heartbeat is rewritten twice a second; atomicity is what matters.
        write_json_atomic(self.ctx.status_path(), self.status(), durable=False)


def _watch_process(pid: int | None) -> psutil.Process | None:
    """psutil.Process.is_running() also detects pid reuse (it compares create times)."""
    if not pid:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return _GoneProcess()


class _GoneProcess:
    def is_running(self) -> bool:
        return False


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM when the parent dies (flush then exit)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
