"""Nothing outlives the harness: a per-user record of each live harness, and the sweep of dead ones.

Each harness process (the pytest process, or the xdist worker, that runs a `SoakSession`) keeps
one record, `<tempdir>/pytest-soak-<user>/sessions/<harness_id>.json`: its own pid and start
time, its runs, every process it started (pid + start time) and its watcher
(`pytest_soak.reaper`, a process of its own session that ends everything of the record when the
harness dies). The record is removed at a clean end. A record whose harness is gone (pid AND
start time: a reused pid is somebody else) means the harness died (SIGKILL, the OOM killer, a
CI runner's timeout): its watcher ends what is left; a new session that will soak sweeps any
record nobody ended (its watcher was killed too). A record whose harness is alive is never
touched: an xdist peer or a soak of another checkout runs beside us.

A process belongs to a record when it is
- one the harness registered, same pid and same start time, or
- tagged with the record's harness id (`SOAK_HARNESS_ID`) or one of its run ids (`SOAK_RUN_ID`)
  in its environment, which children inherit, or
- (POSIX) in the process group of a registered group leader and started after it (a group id
  is not reused while a member of the group lives).
Whoever ends a record first claims it by renaming the file (`<id>.claimed-<pid>.json`), so an
xdist peer or the watcher never ends or reports it twice; the watcher leaves `<id>.ended.json`
saying what it ended, which the next session reports.
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from pytest_soak.procs import POSIX, RUN_MARKER, describe
from pytest_soak.resources import alive, start_s
from pytest_soak_evidence.atomic import write_json_atomic

HARNESS_MARKER = "SOAK_HARNESS_ID"
CLAIM = ".claimed-"
ENDED = ".ended"
# Processes are known by pid and start_s (resources.start_s: seconds since boot on Linux, so a
# wall-clock step moves nothing). 2 s of tolerance: a pid cannot be reused by a process that
# starts within 2 s of the first one's start (it would have to exit and the pid space wrap).
TIME_TOLERANCE_S = 2.0


def state_dir() -> Path:
    """The per-user folder of session records (TMPDIR moves it, like everything temporary)."""
    user = str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"pytest-soak-{user}" / "sessions"


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- which processes are the record's -------------------------------------------------------
def same_process(pid: int, started: float | None) -> psutil.Process | None:
    """The live process `pid` if it is the one whose start_s was `started`, else None (also
    when `started` is unknown: a process that cannot be told apart is never ours to end)."""
    try:
        proc = psutil.Process(pid)
        if started is None or abs(start_s(proc) - started) > TIME_TOLERANCE_S:
            return None
    except (psutil.Error, ValueError):
        return None
    return proc if alive(proc) else None


def _start(entry: dict[str, Any]) -> float | None:
    return float(entry["start_s"]) if entry.get("start_s") is not None else None


def harness_alive(doc: dict[str, Any]) -> bool:
    harness = doc.get("harness") or {}
    if "start_s" not in harness:     # a record of an older version: never judge it dead
        return psutil.pid_exists(int(harness.get("pid", -1)))
    return same_process(int(harness.get("pid", -1)), float(harness["start_s"])) is not None


def _marked(proc: psutil.Process, harness_id: str, run_ids: set[str]) -> bool:
    try:
        env = proc.environ()
    except (psutil.Error, OSError):
        return False
    return env.get(HARNESS_MARKER) == harness_id or env.get(RUN_MARKER) in run_ids


def _in_group(proc: psutil.Process, leaders: dict[int, float]) -> bool:
    if not POSIX or not leaders:
        return False
    try:
        pgid = os.getpgid(proc.pid)
        if pgid not in leaders:
            return False
        started = leaders[pgid]
        leader = same_process(pgid, started)
        if leader is None and psutil.pid_exists(pgid) and alive(psutil.Process(pgid)):
            return False                   # a live leader of another start time: a new group
        return start_s(proc) >= started - TIME_TOLERANCE_S
    except (psutil.Error, OSError):
        return False


def processes_of(doc: dict[str, Any], seen: dict[int, float] | None = None
                 ) -> list[psutil.Process]:
    """Live processes of the record (see the module docstring); `seen` adds (pid: start time)
    pairs the watcher saw as descendants of registered processes. Never this process."""
    me = os.getpid()
    found: dict[int, psutil.Process] = {}
    known = {int(p["pid"]): _start(p) for p in doc.get("processes", [])}
    for pid, started in {**(seen or {}), **known}.items():
        proc = same_process(pid, started)
        if proc is not None and pid != me:
            found[pid] = proc
    leaders = {int(p["pid"]): _start(p) for p in doc.get("processes", [])
               if p.get("group_leader") and _start(p) is not None}
    run_ids = {str(r["run_id"]) for r in doc.get("runs", [])}
    harness_id = str(doc.get("harness_id"))
    for proc in psutil.process_iter():
        if proc.pid in found or proc.pid == me or not alive(proc):
            continue
        if _in_group(proc, leaders) or _marked(proc, harness_id, run_ids):
            found[proc.pid] = proc
    return list(found.values())


def end_processes(doc: dict[str, Any], seen: dict[int, float] | None = None,
                  grace_s: float = 5.0, rounds: int = 4) -> list[dict]:
    """SIGTERM every process of the record, SIGKILL what is left after `grace_s`; repeated
    while new ones turn up (a supervisor may respawn a stage meanwhile). Returns what was
    ended, each described once."""
    ended: dict[int, dict] = {}
    whats = {int(p["pid"]): p.get("what") for p in doc.get("processes", [])}
    for _ in range(rounds):
        procs = processes_of(doc, seen)
        if not procs:
            break
        for proc in procs:
            ended.setdefault(proc.pid, {**describe(proc), "what": whats.get(proc.pid)})
            _signal(proc, "terminate")
        still = _wait_gone(procs, grace_s)
        for proc in still:
            _signal(proc, "kill")
        _wait_gone(still, 2.0)
    return list(ended.values())


def _wait_gone(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Those still alive after `timeout_s`. A zombie counts as gone: psutil.wait_procs would
    wait for a parent that may never reap it (a container whose init does not)."""
    deadline = time.monotonic() + timeout_s
    still = [p for p in procs if alive(p)]
    while still and time.monotonic() < deadline:
        time.sleep(0.05)
        still = [p for p in still if alive(p)]
    return still


def _signal(proc: psutil.Process, how: str) -> None:
    try:
        getattr(proc, how)()
    except psutil.Error:
        pass


# ---- claiming and sweeping records ----------------------------------------------------------
def _base_name(path: Path) -> str:
    """`<id>.json`, `<id>.ended.json` or a claimed copy of either -> `<id>` / `<id>.ended`."""
    stem = path.name.removesuffix(".json")
    return stem.split(CLAIM, 1)[0]


def _claimer(path: Path) -> int | None:
    stem = path.name.removesuffix(".json")
    if CLAIM not in stem:
        return None
    try:
        return int(stem.split(CLAIM, 1)[1])
    except ValueError:
        return None


def claim(path: Path) -> Path | None:
    """Rename the file to a name of ours; None if somebody else took it first."""
    mine = path.with_name(f"{_base_name(path)}{CLAIM}{os.getpid()}.json")
    try:
        os.replace(path, mine)
    except (FileNotFoundError, PermissionError):
        return None
    return mine


def _load(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def report_of(doc: dict[str, Any], ended: list[dict], ended_by: str) -> dict[str, Any]:
    """What a sweep or a watcher says about a dead harness (harness_observations schema)."""
    harness = doc.get("harness") or {}
    return {"harness_id": doc.get("harness_id"), "harness_pid": harness.get("pid"),
            "harness_started_ms": int(float(harness.get("create_time", 0)) * 1000),
            "harness_cmdline": harness.get("cmdline") or [],
            "run_ids": [r.get("run_id") for r in doc.get("runs", [])],
            "ended_by": ended_by, "ended_ms": now_ms(),
            "ended": [{"pid": e["pid"], "name": e["name"], "what": e.get("what"),
                       "cmdline": e["cmdline"]} for e in ended]}


def sweep_dead(directory: Path, skip_id: str | None = None) -> list[dict[str, Any]]:
    """End what every dead harness of `directory` left; returns one report per dead harness
    (also those its watcher already ended). Records of live harnesses are left alone."""
    reports = []
    for path in sorted(directory.glob("*.json")):
        base, claimer = _base_name(path), _claimer(path)
        if base == skip_id or (claimer is not None and _pid_alive(claimer)):
            continue
        doc = _load(path)
        if doc is None:
            continue
        if base.endswith(ENDED):           # a watcher's report: pass it on once
            mine = claim(path)
            if mine is not None:
                reports.append(doc)
                _forget(mine, base.removesuffix(ENDED))
            continue
        if harness_alive(doc):
            continue
        mine = claim(path)
        if mine is None:
            continue
        reports.append(report_of(doc, end_processes(doc), "this session"))
        _forget(mine, base)
    return reports


def _forget(claimed: Path, harness_id: str) -> None:
    """The record (or report) is dealt with: it goes, and its watcher's log with it."""
    claimed.unlink(missing_ok=True)
    claimed.with_name(f"{harness_id}.log").unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        return alive(psutil.Process(pid))
    except psutil.Error:
        return False


def summary_line(report: dict[str, Any]) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(report["harness_started_ms"] / 1000))
    who = "this session" if report["ended_by"] == "this session" else "its watcher"
    ended = report["ended"]
    what = ", ".join(f"{e.get('what') or e['name']}[{e['pid']}]" for e in ended)
    tail = f"{who} ended {len(ended)} of its processes: {what}" if ended else \
        "nothing of it was left running"
    runs = ", ".join(r for r in report["run_ids"] if r) or "no run"
    return (f"soak: an earlier harness (pid {report['harness_pid']}, started {started} UTC, "
            f"{runs}) died; {tail}")


# ---- this process's own record --------------------------------------------------------------
class HarnessGuard:
    """This harness's record and its watcher. `start()` first sweeps what dead harnesses left."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or state_dir()
        me = psutil.Process()
        self.create_time = me.create_time()
        self.harness_id = f"{os.getpid()}-{int(self.create_time * 1000)}"
        self.path = self.directory / f"{self.harness_id}.json"
        self.doc: dict[str, Any] = {
            "version": 1, "harness_id": self.harness_id,
            "harness": {"pid": me.pid, "create_time": self.create_time, "start_s": start_s(me),
                        "cmdline": _cmdline(me)},
            "watcher": None, "runs": [], "processes": []}
        self.swept: list[dict[str, Any]] = []
        self.error: str | None = None
        self.watcher: subprocess.Popen | None = None
        self.started = self.closed = False
        self._lock = threading.Lock()

    def env(self) -> dict[str, str]:
        """The marker every process this harness starts carries (children inherit it)."""
        return {HARNESS_MARKER: self.harness_id}

    def start(self) -> list[dict[str, Any]]:
        with self._lock:
            if self.started:
                return self.swept
            self.started = True
            try:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                self.swept = sweep_dead(self.directory, skip_id=self.harness_id)
                self._write()
                self._start_watcher()
            except OSError as exc:
                self.error = f"{type(exc).__name__}: {exc}"
            atexit.register(self.close)
            return self.swept

    def _start_watcher(self) -> None:
        from pytest_soak.reaper import start_watcher
        self.watcher = start_watcher(self.path, self.path.with_suffix(".log"))
        watcher = psutil.Process(self.watcher.pid)
        self.doc["watcher"] = {"pid": self.watcher.pid, "create_time": watcher.create_time(),
                               "start_s": start_s(watcher)}
        self._write()

    def _write(self) -> None:
        if not self.closed and self.error is None:
            write_json_atomic(self.path, self.doc, durable=False)

    def add_run(self, run_id: str, run_dir: Path) -> None:
        with self._lock:
            self.doc["runs"].append({"run_id": run_id, "run_dir": str(run_dir)})
            self._write()

    def register(self, popen: subprocess.Popen, what: str, group_leader: bool = False) -> None:
        """Remember a started process (and restart the watcher if it was killed)."""
        try:
            proc = psutil.Process(popen.pid)
            started, wall_start = start_s(proc), proc.create_time()
        except psutil.Error:
            return                                   # already gone
        with self._lock:
            self.doc["processes"].append({"pid": popen.pid, "create_time": wall_start,
                                          "start_s": started,
                                          "what": what, "group_leader": group_leader})
            try:
                if self.watcher is not None and self.watcher.poll() is not None and \
                        self.error is None and not self.closed:
                    self._start_watcher()               # somebody killed it
                self._write()
            except OSError as exc:
                self.error = f"{type(exc).__name__}: {exc}"

    @property
    def watcher_pid(self) -> int | None:
        return self.watcher.pid if self.watcher is not None else None

    def close(self) -> None:
        """A clean end: the record goes, and with it the watcher (it exits when it is gone)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.path.unlink(missing_ok=True)
            if self.watcher is not None:
                try:
                    self.watcher.wait(5)
                except subprocess.TimeoutExpired:
                    self.watcher.kill()
            log = self.path.with_suffix(".log")
            if log.exists() and log.stat().st_size == 0:
                log.unlink(missing_ok=True)          # a watcher that had nothing to say


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return [sys.executable]


_GUARD: HarnessGuard | None = None


def guard() -> HarnessGuard:
    """This process's guard (one per harness process), started on first use."""
    global _GUARD
    if not guard_running():
        _GUARD = HarnessGuard()
    _GUARD.start()
    return _GUARD


def guard_running() -> bool:
    """True when this process already keeps a record (a session in a session: pytester)."""
    return _GUARD is not None and not _GUARD.closed and \
        _GUARD.doc["harness"]["pid"] == os.getpid()


def close_guard() -> None:
    if _GUARD is not None:
        _GUARD.close()
