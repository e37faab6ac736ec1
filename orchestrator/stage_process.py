"""One supervised stage: its OS process (spawned with Popen, output to logs/<stage>.log),
its status file as last read, and its exit/restart history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from orchestrator.restart import RestartPolicy, RestartTracker


def now_ms() -> int:
    return int(time.time() * 1000)


def describe_exit(returncode: int) -> dict[str, Any]:
    """exit_code for a normal exit, signal name for a kill (POSIX negative return codes)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"SIG{-returncode}"
        return {"exit_code": None, "signal": name}
    return {"exit_code": returncode, "signal": None}


class StageProcess:
    def __init__(self, name: str, argv: list[str], run_dir: Path, env: dict[str, str],
                 policy: RestartPolicy) -> None:
        self.name = name
        self.argv = argv
        self.run_dir = run_dir
        self.env = env
        self.tracker = RestartTracker(policy)
        self.proc: subprocess.Popen | None = None
        self.pids: list[int] = []
        self.exits: list[dict[str, Any]] = []
        self.restarts: list[dict[str, Any]] = []
        self.spawned_at = 0.0              # monotonic
        self.ready_at: float | None = None
        self.status: dict[str, Any] | None = None        # current pid's latest status
        self.sections: dict[str, Any] = {}                # latest manifest sections, any pid
        self.source: dict[str, Any] = {}
        self.restart_due: float | None = None             # monotonic
        self.stopped = False
        self._status_mtime: int | None = None

    # ---- paths --------------------------------------------------------------------------------
    @property
    def status_path(self) -> Path:
        return self.run_dir / "status" / f"{self.name}.json"

    @property
    def stop_path(self) -> Path:
        return self.run_dir / "control" / f"{self.name}.stop"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ---- process ----------------------------------------------------------------------------
    def spawn(self) -> None:
        self.stop_path.unlink(missing_ok=True)
        log_path = self.run_dir / "logs" / f"{self.name}.log"
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            # Own session: a terminal's Ctrl-C must not reach stages directly, or the
            # ordered shutdown would be bypassed.
            kwargs["start_new_session"] = True
        else:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env, **kwargs)
        self.pids.append(self.proc.pid)
        self.spawned_at = time.monotonic()
        self.ready_at = None
        self.status = None
        self._status_mtime = None
        self.restart_due = None

    def record_exit(self, reason: str) -> dict[str, Any]:
        """Bookkeeping once the process is gone (reaped)."""
        assert self.proc is not None
        entry = {"at_ms": now_ms(), "pid": self.proc.pid, "reason": reason,
                 "uptime_s": round(time.monotonic() - self.spawned_at, 3),
                 **describe_exit(self.proc.returncode)}
        self.exits.append(entry)
        self.proc = None
        self.ready_at = None
        return entry

    def request_stop(self) -> None:
        """Portable stop file plus SIGTERM (CTRL_BREAK on Windows); SIGCONT in case it is
        stopped, or it would never see the request."""
        self.stop_path.parent.mkdir(parents=True, exist_ok=True)
        self.stop_path.touch()
        if not self.alive:
            return
        try:
            if os.name == "posix":
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(signal.SIGTERM)
            else:
                self.proc.send_signal(signal.CTRL_BREAK_EVENT)
        except OSError:
            pass

    def kill(self) -> None:
        if self.alive:
            try:
                self.proc.kill()
            except OSError:
                pass

    def wait(self, timeout_s: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False

    # ---- status file ------------------------------------------------------------------------
    def refresh_status(self) -> None:
        """Read status/<stage>.json if it changed; keep only the current pid's heartbeat."""
        try:
            mtime = self.status_path.stat().st_mtime_ns
            if mtime == self._status_mtime:
                return
            doc = json.loads(self.status_path.read_text(encoding="utf-8"))
            self._status_mtime = mtime
        except (OSError, ValueError):
            return
        if doc.get("manifest"):
            for key, value in doc["manifest"].items():
                if key == "source":
                    self.source = value
                else:
                    self.sections[key] = value
        if self.proc is not None and doc.get("pid") == self.proc.pid:
            self.status = doc
            if doc.get("ready") and self.ready_at is None:
                self.ready_at = time.monotonic()

    @property
    def ready(self) -> bool:
        return self.alive and self.ready_at is not None

    def heartbeat_age_s(self) -> float | None:
        if not self.status:
            return None
        return max(0.0, (now_ms() - int(self.status["heartbeat_ms"])) / 1000)

    def is_hung(self, heartbeat_timeout_s: float, startup_timeout_s: float) -> bool:
        """No heartbeat within the timeout (SIGSTOP, a blocked loop), or never got past setup."""
        if not self.alive:
            return False
        in_setup = not self.status or self.status.get("state") == "starting"
        if in_setup:
            return time.monotonic() - self.spawned_at > startup_timeout_s
        return (self.heartbeat_age_s() or 0.0) > heartbeat_timeout_s

    def process_doc(self) -> dict[str, Any]:
        """This stage's entry in run_manifest.status.processes."""
        return {
            "name": self.name, "pid": self.pid, "pids": list(self.pids),
            "alive": self.alive, "ready": self.ready,
            "restart_count": self.tracker.restart_count, "gave_up": self.tracker.gave_up,
            "backoff_delays_s": list(self.tracker.delays_s),
            "exits": list(self.exits), "restarts": list(self.restarts),
        }


def stage_argv(name: str, config_path: Path, run_dir: Path, sink: str, run_id: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.stage_main", name, "--config", str(config_path),
            "--run-dir", str(run_dir), "--sink", sink, "--run-id", run_id]
