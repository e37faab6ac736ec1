"""Resource sampler: RSS and open files of every process the supervisor runs (psutil).

Samples stream to `<run_dir>/resources.jsonl` (one line per round) so memory stays bounded;
only per-process maxima are kept. `open_files` counts file descriptors on POSIX (num_fds:
files, sockets, pipes) and handles on Windows."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)
MB = 1024 * 1024


def open_file_count(proc: psutil.Process) -> int:
    if hasattr(proc, "num_fds"):
        return proc.num_fds()
    return proc.num_handles()


class ResourceSampler:
    """Background thread; `processes()` returns {label: pid} of what to sample now."""

    def __init__(self, processes: Callable[[], dict[str, int]], samples_path: Path,
                 interval_s: float) -> None:
        self._processes = processes
        self.samples_path = samples_path
        self.interval_s = interval_s
        self.sample_count = 0
        self._maxima: dict[str, dict[str, Any]] = {}
        self._handles: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()
        self._round_lock = threading.Lock()        # the thread's rounds and sample_once()
        self._out: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="resources", daemon=True)

    def start(self) -> None:
        self.samples_path.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.samples_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.sample_once()
        with self._round_lock:
            if self._out is not None:
                self._out.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self.interval_s)

    def sample_once(self) -> None:
        """One round now, from any thread (the supervisor takes one before the shutdown, so
        a stage started since the last round is sampled before it stops)."""
        with self._round_lock:
            if self._out is not None and not self._out.closed:
                self._sample_round(self._out)

    def _sample_round(self, out: Any) -> None:
        rows = []
        current = self._processes()
        for gone in set(self._handles) - set(current.values()):
            del self._handles[gone]                # restarted stages: drop the old handle
        for label, pid in current.items():
            row = self._sample(label, pid)
            if row:
                rows.append(row)
        if rows:
            out.write(json.dumps({"ts_ms": int(time.time() * 1000), "processes": rows}) + "\n")
            with self._lock:
                self.sample_count += 1

    def _sample(self, label: str, pid: int) -> dict[str, Any] | None:
        try:
            proc = self._handles.get(pid)
            if proc is None or not proc.is_running():
                proc = self._handles[pid] = psutil.Process(pid)
            with proc.oneshot():
                rss_mb = round(proc.memory_info().rss / MB, 2)
                files = open_file_count(proc)
        except psutil.Error:
            self._handles.pop(pid, None)
            return None
        self._record_max(label, pid, rss_mb, files)
        return {"name": label, "pid": pid, "rss_mb": rss_mb, "open_files": files}

    def _record_max(self, label: str, pid: int, rss_mb: float, files: int) -> None:
        with self._lock:
            entry = self._maxima.setdefault(
                label, {"max_rss_mb": 0.0, "max_open_files": 0, "pids": []})
            entry["max_rss_mb"] = max(entry["max_rss_mb"], rss_mb)
            entry["max_open_files"] = max(entry["max_open_files"], files)
            if pid not in entry["pids"]:
                entry["pids"].append(pid)

    def summary(self) -> dict[str, Any]:
        """The `resource_usage` manifest section."""
        with self._lock:
            per = {k: {**v, "pids": list(v["pids"])} for k, v in self._maxima.items()}
            count = self.sample_count
        return {
            "max_rss_mb": max((v["max_rss_mb"] for v in per.values()), default=0.0),
            "max_open_files": max((v["max_open_files"] for v in per.values()), default=0),
            "per_process": per,
            "sample_interval_s": self.interval_s,
            "sample_count": count,
            "samples_file": self.samples_path.name,
            "open_files_measure": "num_fds" if hasattr(psutil.Process, "num_fds")
            else "num_handles",
        }
