"""psutil view of the pipeline's process tree: who is who, RSS and open files (D8, D9, D10).

Processes are named by stage from their command line (`stage_regex`, configurable per
pipeline): the reference pipeline starts `python -m orchestrator.stage_main NAME ...`.
The root (the supervisor) is named `supervisor`; any other descendant `other:<name>`.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

import psutil

MB = 1024 * 1024
DEFAULT_STAGE_REGEX = r"stage_main\s+(?P<stage>[A-Za-z_][\w-]*)"


@dataclass
class ProcSample:
    stage: str
    pid: int
    rss_mb: float | None
    open_files: int | None

    def as_dict(self) -> dict:
        return {"stage": self.stage, "pid": self.pid, "rss_mb": self.rss_mb,
                "open_files": self.open_files}


def alive(proc: psutil.Process) -> bool:
    """A zombie counts as dead (SPEC: orphans)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def started_ms(proc: psutil.Process) -> int:
    """When `proc` started, in time.time() milliseconds (to ~10 ms).

    On Linux psutil's create_time() is jiffies since boot plus /proc/stat's btime, a whole
    second: up to 1 s early against time.time() (0.87 s measured), too coarse for D9's kill ->
    new pid gap of a 0.2 s backoff. The jiffies count CLOCK_BOOTTIME, whose offset to the wall
    clock is read here and used instead of btime. Elsewhere create_time() is the wall clock.
    """
    created = proc.create_time()
    if sys.platform.startswith("linux") and hasattr(time, "CLOCK_BOOTTIME"):
        created -= psutil.boot_time() + time.clock_gettime(time.CLOCK_BOOTTIME) - time.time()
    return int(created * 1000)


def start_s(proc: psutil.Process) -> float:
    """A process's start as an identity no wall-clock step moves (seconds; compare only with
    another start_s).

    On Linux psutil's create_time() is jiffies since boot plus /proc/stat's btime, which the
    kernel re-derives from the wall clock: a clock step (an NTP correction, a VM resumed after
    a pause) moves every process's create_time by the step. A LIVE soak's watcher once saw its
    live harness's start move by 13 s after a 13 s freeze of the machine, judged it dead and
    ended the run. Seconds since boot do not move; btime is read on both sides of
    create_time() so a step between the reads is retried. Elsewhere create_time() is the
    stored wall-clock start, which a later step does not change.
    """
    if not sys.platform.startswith("linux"):
        return proc.create_time()
    while True:
        before = psutil.boot_time()
        created = proc.create_time()
        if psutil.boot_time() == before:
            return round(created - before, 3)


class ProcessTree:
    """Finds the supervisor's descendants and names them by stage."""

    def __init__(self, root_pid: int, stage_regex: str = DEFAULT_STAGE_REGEX) -> None:
        self.root_pid = root_pid
        self.pattern = re.compile(stage_regex)
        self._names: dict[tuple[int, float], str] = {}   # (pid, create_time) -> stage
        self._root: psutil.Process | None = None

    def root(self) -> psutil.Process | None:
        if self._root is None:
            try:
                self._root = psutil.Process(self.root_pid)
            except psutil.Error:
                return None
        return self._root if alive(self._root) else None

    def name_of(self, proc: psutil.Process) -> str:
        try:
            key = (proc.pid, proc.create_time())
        except psutil.Error:
            return "gone"
        name = self._names.get(key)
        if name is None:
            name = self._classify(proc)
            # A child seen between fork and exec still shows its parent's command line: only a
            # stage match is final, anything else is looked at again next time.
            if not name.startswith("other:") and name != "gone":
                self._names[key] = name
        return name

    def _classify(self, proc: psutil.Process) -> str:
        if proc.pid == self.root_pid:
            return "supervisor"
        try:
            cmd = " ".join(proc.cmdline())
            found = self.pattern.search(cmd)
            return found.group("stage") if found else f"other:{proc.name()}"
        except psutil.Error:
            return "gone"

    def processes(self) -> list[tuple[str, psutil.Process]]:
        """(stage, process) for the root and every live descendant."""
        root = self.root()
        if root is None:
            return []
        try:
            kids = root.children(recursive=True)
        except psutil.Error:
            kids = []
        out = [("supervisor", root)]
        for proc in kids:
            if alive(proc):
                out.append((self.name_of(proc), proc))
        return out

    def stage_pids(self) -> dict[str, int]:
        """{stage: pid} of the live stage processes (first one per stage)."""
        pids: dict[str, int] = {}
        for stage, proc in self.processes():
            if stage != "supervisor" and not stage.startswith("other:"):
                pids.setdefault(stage, proc.pid)
        return pids


def sample_process(stage: str, proc: psutil.Process) -> ProcSample | None:
    """RSS and open files of one process; None if it vanished meanwhile."""
    try:
        with proc.oneshot():
            rss_mb = round(proc.memory_info().rss / MB, 2)
            try:
                files = len(proc.open_files())
            except psutil.AccessDenied:
                files = None
            # open_files lists regular files only; fds (POSIX) also count sockets and pipes.
            fds = proc.num_fds() if hasattr(proc, "num_fds") else None
            handles = proc.num_handles() if hasattr(proc, "num_handles") else None
    except psutil.Error:
        return None
    counts = [c for c in (files, fds, handles) if c is not None]
    return ProcSample(stage, proc.pid, rss_mb, max(counts) if counts else None)


class Downsampler:
    """Keeps at most ~`limit` points of a long series in bounded memory (stride doubling)."""

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        self.stride = 1
        self.seen = 0
        self.points: list[list] = []

    def add(self, t_ms: int, value: float) -> None:
        if self.seen % self.stride == 0:
            self.points.append([t_ms, value])
            if len(self.points) > self.limit:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1
