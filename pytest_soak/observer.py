"""The independent observer: the harness's own eyes on the running pipeline.

One background thread, driven by the market clock:
- every `health_interval_s` market seconds it polls the health URL (D2) and checks, with
  psutil right after the answer, that the pid the body names per stage is that stage's live
  process (a stage is healthy for the harness only then; pytest_soak/health.py);
- every `sample_interval_s` wall seconds it samples RSS / open files of the whole process tree
  with psutil (D8);
- on every tick it tracks pids per stage (first/last seen, exit time) so restarts (D9) and
  the shutdown order (D10) are measured, not read from the pipeline's claims.
Samples stream to JSONL files in `<run_dir>/observer/`; only summaries stay in memory, so a
60-minute LIVE run keeps the harness small.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import requests

from pytest_soak.health import HealthPoll, poll_health, verify_pids
from pytest_soak.resources import Downsampler, ProcessTree, sample_process


def now_ms() -> int:
    return int(time.time() * 1000)


class PidTracker:
    """Every pid seen per stage, with first/last sighting and the time it was seen gone."""

    def __init__(self) -> None:
        self.by_stage: dict[str, list[dict]] = {}
        self.current: dict[str, int] = {}

    def see(self, pids: dict[str, int], t_ms: int) -> None:
        for stage, pid in pids.items():
            entries = self.by_stage.setdefault(stage, [])
            entry = next((e for e in entries if e["pid"] == pid), None)
            if entry is None:
                entries.append({"pid": pid, "first_seen_ms": t_ms, "last_seen_ms": t_ms,
                                "exit_ms": None})
            else:
                entry["last_seen_ms"] = t_ms
        for stage, pid in list(self.current.items()):
            if pids.get(stage) != pid:
                self._mark_exit(stage, pid, t_ms)
        self.current = dict(pids)

    def _mark_exit(self, stage: str, pid: int, t_ms: int) -> None:
        for entry in self.by_stage.get(stage, []):
            if entry["pid"] == pid and entry["exit_ms"] is None:
                entry["exit_ms"] = t_ms

    def first_new_pid(self, stage: str, old_pid: int | None, after_ms: int) -> dict | None:
        for entry in self.by_stage.get(stage, []):
            if entry["pid"] != old_pid and entry["first_seen_ms"] >= after_ms:
                return entry
        return None

    def exits_after(self, t_ms: int) -> list[dict]:
        out = [{"stage": stage, "pid": e["pid"], "exit_ms": e["exit_ms"]}
               for stage, entries in self.by_stage.items() for e in entries
               if e["exit_ms"] is not None and e["exit_ms"] >= t_ms]
        return sorted(out, key=lambda e: e["exit_ms"])


class StageStats:
    def __init__(self) -> None:
        self.polls = self.healthy = 0
        self.in_fault = self.healthy_in_fault = 0

    def add(self, healthy: bool, in_fault: bool) -> None:
        self.polls += 1
        self.healthy += healthy
        if in_fault:
            self.in_fault += 1
            self.healthy_in_fault += healthy

    def summary(self) -> dict:
        outside = self.polls - self.in_fault
        healthy_outside = self.healthy - self.healthy_in_fault
        return {
            "polls": self.polls, "healthy": self.healthy,
            "healthy_pct": _pct(self.healthy, self.polls),
            "polls_in_fault_windows": self.in_fault,
            "healthy_in_fault_windows": self.healthy_in_fault,
            "polls_outside_fault_windows": outside,
            "healthy_outside_fault_windows": healthy_outside,
            "healthy_outside_pct": _pct(healthy_outside, outside),
        }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 3) if whole else None


class Observer:
    """Runs in a daemon thread of the pytest process; `stop()` joins it and keeps the files."""

    def __init__(self, run_dir: Path, tree: ProcessTree, stages: list[str],
                 health_url: Callable[[], str | None], market_s: Callable[[], float],
                 health_interval_s: float, speed: float, sample_interval_s: float,
                 fault_ids_at: Callable[[float], list[str]] = lambda s: []) -> None:
        self.dir = run_dir / "observer"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tree, self.stages = tree, stages
        self.health_url, self.market_s, self.fault_ids_at = health_url, market_s, fault_ids_at
        self.health_interval_s = health_interval_s
        self.health_wall_s = health_interval_s / speed
        self.sample_interval_s = sample_interval_s
        self.pids = PidTracker()
        self.stats: dict[str, StageStats] = {s: StageStats() for s in stages}
        self.polls = self.failed_polls = self.samples = 0
        self.last_poll: HealthPoll | None = None
        self.recent: dict[str, deque] = {s: deque(maxlen=4000) for s in stages}  # (t_ms, ok, pid)
        self.max_rss: dict[str, float] = {}
        self.max_files: dict[str, int] = {}
        self.sample_counts: dict[str, int] = {}
        self.max_tree_rss = 0.0
        self.max_rss_running: dict[str, float] = {}    # until the stop signal (what a
        self.stop_sent = False                          # pipeline's own sampler can see)
        self.series: dict[str, Downsampler] = {}
        self.polling = True                # health polls stop once the stop is sent
        self.counting = False              # polls count in the summary once the run started
        self.fast_tick_s = 0.1             # pid tracking resolution; 0.05 while stopping
        # stage -> (old pid, killed_ms, give-up monotonic time): a killed stage's return is
        # timed by extra polls every fast tick, not by the D2 grid (10 wall s in LIVE mode,
        # which alone would eat most of D9's 12 s); they feed `recent`, never D2's figures
        self.recovering: dict[str, tuple[int | None, int, float]] = {}
        self.recovery_limit_s = 60.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-observer", daemon=True)
        self._http = requests.Session()
        self._health_f = open(self.dir / "health.jsonl", "a", encoding="utf-8")
        self._res_f = open(self.dir / "resources.jsonl", "a", encoding="utf-8")
        self.lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.track_pids()                  # a final look: whoever is gone now is gone
        for handle in (self._health_f, self._res_f):
            handle.close()
        self._http.close()

    def _loop(self) -> None:
        next_poll = next_sample = 0.0
        while not self._stop.is_set():
            mono = time.monotonic()
            try:
                self.track_pids()
                if self.recovering and self.polling:
                    self.poll_recovery()
                if self.polling and mono >= next_poll:
                    # a fixed cadence (not "interval after the last poll"), so a slow poll does
                    # not stretch the 10-market-second grid
                    next_poll = max(next_poll + self.health_wall_s, mono)
                    self.poll_once()
                if mono >= next_sample:
                    next_sample = max(next_sample + self.sample_interval_s, mono)
                    self.sample_once()
            except Exception as exc:  # noqa: BLE001 - the observer must outlive a bad sample
                self._health_f.write(json.dumps({"t_ms": now_ms(), "observer_error": repr(exc)})
                                     + "\n")
            due = min(next_poll if self.polling else float("inf"), next_sample)
            self._stop.wait(max(0.0, min(self.fast_tick_s, due - time.monotonic())))

    # --- work ------------------------------------------------------------------------------
    def track_pids(self) -> None:
        with self.lock:
            self.pids.see(self.tree.stage_pids(), now_ms())

    def poll_once(self) -> HealthPoll | None:
        url = self.health_url()
        if not url:
            return None
        t_ms = now_ms()
        market_s = self.market_s()
        poll = self._verified(url, t_ms, max(1.0, self.health_wall_s * 3))
        faults = self.fault_ids_at(market_s)
        with self.lock:
            counting = self.counting
            if counting:
                self.polls += 1
                self.failed_polls += not poll.ok
            for stage in self.stages:
                healthy = poll.healthy(stage)
                if counting:
                    self.stats[stage].add(healthy, bool(faults))
                self.recent[stage].append((t_ms, healthy, poll.pids.get(stage)))
            self.last_poll = poll
        line = {"t_ms": t_ms, "market_s": round(market_s, 2), "ok": poll.ok,
                "http_status": poll.http_status, "stages": poll.stages, "pids": poll.pids,
                "live_pids": poll.live_pids, "pid_check": poll.pid_check,
                "in_fault": faults, "phase": "run" if counting else "startup"}
        if poll.error:
            line["error"] = poll.error
        self._health_f.write(json.dumps(line) + "\n")
        self._health_f.flush()
        return poll

    def _verified(self, url: str, t_ms: int, timeout_s: float) -> HealthPoll:
        """One poll, its pids checked against the harness's psutil view taken after the
        answer (a pid alive then was alive when the body was built)."""
        poll = poll_health(self._http, url, t_ms, timeout_s=timeout_s)
        if poll.ok:
            verify_pids(poll, self.tree, self.stages)
        return poll

    def watch_recovery(self, stage: str, old_pid: int | None, killed_ms: int) -> None:
        """Poll health every fast tick until `stage` is healthy under a new pid (a kill)."""
        with self.lock:
            self.recovering[stage] = (old_pid, killed_ms,
                                      time.monotonic() + self.recovery_limit_s)

    def poll_recovery(self) -> None:
        url = self.health_url()
        if not url:
            return
        t_ms = now_ms()
        poll = self._verified(url, t_ms, 1.0)
        with self.lock:
            for stage, (old_pid, killed_ms, give_up) in list(self.recovering.items()):
                healthy = poll.healthy(stage)
                self.recent[stage].append((t_ms, healthy, poll.pids.get(stage)))
                new = self.pids.first_new_pid(stage, old_pid, killed_ms)
                back = healthy and new is not None and t_ms >= new["first_seen_ms"]
                if back or time.monotonic() > give_up:
                    del self.recovering[stage]

    def sample_once(self) -> None:
        t_ms = now_ms()
        procs = []
        for stage, proc in self.tree.processes():
            sample = sample_process(stage, proc)
            if sample is not None:
                procs.append(sample)
        if not procs:
            return
        with self.lock:
            self.samples += 1
            tree_rss = 0.0
            for s in procs:
                tree_rss += s.rss_mb or 0.0
                if s.rss_mb is not None:
                    self.max_rss[s.stage] = max(self.max_rss.get(s.stage, 0.0), s.rss_mb)
                    if not self.stop_sent:
                        self.max_rss_running[s.stage] = max(
                            self.max_rss_running.get(s.stage, 0.0), s.rss_mb)
                    if not s.stage.startswith("other:"):   # short-lived helpers: no leak
                        self.series.setdefault(s.stage, Downsampler()).add(t_ms, s.rss_mb)
                if s.open_files is not None:
                    self.max_files[s.stage] = max(self.max_files.get(s.stage, 0), s.open_files)
                self.sample_counts[s.stage] = self.sample_counts.get(s.stage, 0) + 1
            self.max_tree_rss = max(self.max_tree_rss, tree_rss)
        self._res_f.write(json.dumps({"t_ms": t_ms, "market_s": round(self.market_s(), 2),
                                      "procs": [p.as_dict() for p in procs]}) + "\n")
        self._res_f.flush()

    # --- queries for the session -------------------------------------------------------------
    def all_healthy(self) -> bool:
        with self.lock:
            poll = self.last_poll
        return poll is not None and poll.all_healthy(self.stages)

    def first_healthy_after(self, stage: str, t_ms: int) -> int | None:
        """Time of the first poll at/after t_ms that found `stage` healthy (pid verified)."""
        found = self.first_healthy_poll_after(stage, t_ms)
        return found[0] if found else None

    def first_healthy_poll_after(self, stage: str, t_ms: int) -> tuple[int, int] | None:
        """(time, the verified pid the body named) of that poll."""
        with self.lock:
            return next(((t, pid) for t, ok, pid in self.recent.get(stage, ())
                         if ok and t >= t_ms), None)

    # --- summaries for harness_observations.json -------------------------------------------
    def health_summary(self) -> dict:
        with self.lock:
            return {"interval_s": self.health_interval_s,
                    "wall_interval_s": round(self.health_wall_s, 4),
                    "samples_file": "observer/health.jsonl", "polls": self.polls,
                    "startup_polls_excluded": True,
                    "failed_polls": self.failed_polls,
                    "per_stage": {s: st.summary() for s, st in self.stats.items()}}

    def resources_summary(self) -> dict:
        with self.lock:
            stages = sorted(set(self.max_rss) | set(self.max_files))
            return {
                "samples_file": "observer/resources.jsonl",
                "interval_s": self.sample_interval_s, "sample_count": self.samples,
                "max_rss_mb": max(self.max_rss.values(), default=None),
                "max_open_files": max(self.max_files.values(), default=None),
                "max_tree_rss_mb": round(self.max_tree_rss, 2) if self.samples else None,
                "max_rss_mb_before_stop": max(self.max_rss_running.values(), default=None),
                "per_process": {s: {"max_rss_mb": self.max_rss.get(s),
                                    "max_rss_mb_before_stop": self.max_rss_running.get(s),
                                    "max_open_files": self.max_files.get(s),
                                    "samples": self.sample_counts.get(s, 0)} for s in stages},
                "rss_series": {s: d.points for s, d in self.series.items()},
            }

    def pids_summary(self) -> dict:
        with self.lock:
            return {s: [dict(e) for e in entries] for s, entries in self.pids.by_stage.items()}
