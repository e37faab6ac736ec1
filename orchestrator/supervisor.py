"""The supervisor: starts the stages in dependency order, watches them (exit, hung
heartbeat), restarts them with backoff, serves /health, samples resources, keeps the run
manifests current, and stops everything in the configured order."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import manifest
from orchestrator.config import redacted, replay_mode, section
from orchestrator.health import HealthServer, freshness, overall_state, stage_state
from orchestrator.post_run import PostRun
from orchestrator.resources import ResourceSampler
from orchestrator.restart import RestartPolicy
from orchestrator.stage_process import StageProcess, now_ms, stage_argv
from pytest_soak_evidence.atomic import write_json_atomic

STAGE_ORDER = ["harvest", "signal", "broker", "report"]      # dependency (start) order


@dataclass
class RunOptions:
    config_path: Path
    config: dict
    enabled: list[str]
    sink: str
    minutes: float
    run_dir: Path
    run_id: str
    health_port: int = 0


class Supervisor:
    def __init__(self, opts: RunOptions, log: logging.Logger) -> None:
        self.opts = opts
        self.log = log
        self.settings = section(opts.config, "supervisor")
        self.replay = replay_mode(opts.config)
        self.policy = RestartPolicy.from_config(self.settings["restart"])
        self.run_dir = opts.run_dir
        self.started_ms = now_ms()
        self.t0 = time.monotonic()
        self.phase = "starting"
        self.stop_reason: str | None = None
        self.shutdown_order: list[dict[str, Any]] = []
        self.first_event_ms: int | None = None
        self.newest_event_ms: int | None = None
        self.post_run = PostRun(opts, self.settings["finalize_timeout_s"], log)
        self.stages = {name: self._stage(name) for name in STAGE_ORDER if name in opts.enabled}
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {}
        self._next_manifest = 0.0
        self.health = HealthServer(opts.health_port, self.health_snapshot)
        self.sampler = ResourceSampler(self._sampled_pids, self.run_dir / "resources.jsonl",
                                       float(self.settings["resources"]["sample_interval_s"]))

    def _stage(self, name: str) -> StageProcess:
        env = dict(os.environ, SOAK_RUN_ID=self.opts.run_id, ORCH_SUPERVISOR_PID=str(os.getpid()))
        argv = stage_argv(name, self.opts.config_path.resolve(), self.run_dir.resolve(),
                          self.opts.sink, self.opts.run_id)
        return StageProcess(name, argv, self.run_dir, env, self.policy)

    # ---- top level ------------------------------------------------------------------------
    def run(self) -> int:
        self._prepare()
        try:
            self._start_stages()
            if not self.stop_reason:
                self.phase = "running"
                self.log.info("all stages started; health %s", self.health.url)
            while not self._should_stop():
                self.tick()
                time.sleep(self.settings["tick_s"])
        finally:
            self._shutdown()
        return 0

    def _prepare(self) -> None:
        for sub in ("status", "control", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.run_dir / "control" / "supervisor.stop").unlink(missing_ok=True)
        write_json_atomic(self.run_dir / "config_snapshot.json", redacted(self.opts.config))
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        self.health.start()
        self.sampler.start()
        self.write_orchestrator_json()
        self.write_source_manifest()
        self.write_run_manifest()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if not self.stop_reason:
            self.stop_reason = signal.Signals(signum).name

    def _start_stages(self) -> None:
        timeout = self.settings["startup_timeout_s"]
        for sp in self.stages.values():
            if self.stop_reason:
                return
            self.log.info("starting %s", sp.name)
            sp.spawn()
            self.write_orchestrator_json()
            deadline = time.monotonic() + timeout
            while (not sp.ready and not sp.tracker.gave_up and time.monotonic() < deadline
                   and not self._stop_requested()):
                self.tick()
                time.sleep(self.settings["tick_s"])
            if not sp.ready and not self.stop_reason:
                self.log.warning("%s not ready after %.1fs; continuing", sp.name, timeout)

    # ---- supervision ----------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        for sp in self.stages.values():
            if sp.proc is not None:
                sp.refresh_status()
                if sp.proc.poll() is not None:
                    self._on_failure(sp, "exited")
                elif sp.is_hung(self.settings["heartbeat_timeout_s"],
                                self.settings["startup_timeout_s"]):
                    self.log.warning("%s pid %d hung (heartbeat age %s s): SIGKILL", sp.name,
                                     sp.pid, sp.heartbeat_age_s())
                    sp.kill()
                    sp.wait(5)
                    self._on_failure(sp, "hung")
            elif sp.restart_due is not None and now >= sp.restart_due:
                self._respawn(sp)
        self._track_market_time()
        self._refresh_snapshot()
        if now >= self._next_manifest:
            self.write_run_manifest()
            self._next_manifest = now + self.settings["manifest_interval_s"]

    def _on_failure(self, sp: StageProcess, reason: str) -> None:
        exit_entry = sp.record_exit(reason)
        delay = sp.tracker.on_failure(time.monotonic(), exit_entry["uptime_s"])
        if delay is None:
            self.log.error("%s failed %s (%s); restart limit reached: given up", sp.name,
                           reason, exit_entry)
        else:
            self.log.warning("%s failed %s (%s); restart in %.3fs", sp.name, reason,
                             exit_entry, delay)
            sp.restart_due = time.monotonic() + delay
            sp.restarts.append({"scheduled_ms": now_ms(), "delay_s": delay, "reason": reason})
        self.write_orchestrator_json()
        self.write_run_manifest()

    def _respawn(self, sp: StageProcess) -> None:
        sp.spawn()
        sp.restarts[-1].update({"spawned_ms": now_ms(), "pid": sp.pid})
        self.log.info("%s restarted as pid %d (restart %d)", sp.name, sp.pid,
                      sp.tracker.restart_count)
        self.write_orchestrator_json()
        self.write_run_manifest()         # the new pid at once, not at the next interval

    def _track_market_time(self) -> None:
        harvest = self.stages.get("harvest")
        event_ms = (harvest.status or {}).get("last_event_ms") if harvest else None
        if event_ms is None:
            return
        if self.first_event_ms is None or event_ms < self.first_event_ms:
            self.first_event_ms = event_ms
        if self.newest_event_ms is None or event_ms > self.newest_event_ms:
            self.newest_event_ms = event_ms

    def market_span_s(self) -> float | None:
        if self.first_event_ms is None:
            return None
        return (self.newest_event_ms - self.first_event_ms) / 1000

    def _stop_requested(self) -> bool:
        if not self.stop_reason and (self.run_dir / "control" / "supervisor.stop").exists():
            self.stop_reason = "stop file"
        return bool(self.stop_reason)

    def _should_stop(self) -> bool:
        if self._stop_requested():
            return True
        target_s = self.opts.minutes * 60
        wall_s = time.monotonic() - self.t0
        if not self.replay or "harvest" not in self.stages:
            if wall_s >= target_s:
                self.stop_reason = "minutes elapsed (wall clock)"
        elif (self.market_span_s() or 0.0) >= target_s:
            self.stop_reason = "minutes elapsed (market time)"
        elif wall_s >= target_s * self.settings["replay_wall_cap_factor"]:
            self.stop_reason = "wall-clock cap reached (REPLAY market time did not advance enough)"
        return bool(self.stop_reason)

    # ---- shutdown -------------------------------------------------------------------------
    def stop_order(self) -> list[str]:
        configured = [n for n in self.settings["shutdown_order"] if n in self.stages]
        rest = [n for n in reversed(list(self.stages)) if n not in configured]
        return configured + rest

    def _shutdown(self) -> None:
        self.phase = "stopping"
        self.log.info("shutting down (%s): order %s", self.stop_reason, self.stop_order())
        for sp in self.stages.values():
            sp.restart_due = None                     # no restarts from here on
        self.sampler.sample_once()                    # every stage measured before it stops
        for name in self.stop_order():
            self._stop_stage(self.stages[name])
        self._refresh_snapshot()
        self.post_run.run()
        self.sampler.stop()
        self.phase = "stopped"
        self._refresh_snapshot()
        self.write_orchestrator_json()
        self.write_run_manifest(ended=True)
        self.write_source_manifest(ended=True)
        self.health.stop()
        self.log.info("stopped")

    def _stop_stage(self, sp: StageProcess) -> None:
        entry: dict[str, Any] = {"stage": sp.name, "pid": sp.pid, "requested_ms": now_ms(),
                                 "was_running": sp.alive, "forced": False}
        sp.request_stop()
        if sp.proc is not None and not sp.wait(self.settings["stop_grace_s"]):
            self.log.warning("%s did not stop within %.1fs: SIGKILL", sp.name,
                             self.settings["stop_grace_s"])
            sp.kill()
            sp.wait(5)
            entry["forced"] = True
        if sp.proc is not None:
            sp.refresh_status()
            entry.update(sp.record_exit("shutdown"))
            entry.pop("at_ms", None)
        entry["stopped_ms"] = now_ms()
        sp.stopped = True
        self.shutdown_order.append(entry)
        self.log.info("stopped %s: %s", sp.name, entry)
        self.write_run_manifest()

    # ---- documents ------------------------------------------------------------------------
    def _stage_health(self, sp: StageProcess) -> dict[str, Any]:
        cfg = self.settings["freshness"]
        max_age = cfg["replay_max_age_s"] if self.replay else cfg["live_max_age_s"]
        fresh = freshness(sp, sp.name in cfg["stages"], max_age)
        age = sp.heartbeat_age_s()
        state = stage_state(sp, self.settings["heartbeat_timeout_s"],
                            self.settings["startup_timeout_s"], fresh)
        return {"state": state,
                "pid": sp.pid, "ready": sp.ready, "restart_count": sp.tracker.restart_count,
                "gave_up": sp.tracker.gave_up,
                "heartbeat_age_s": None if age is None else round(age, 3),
                "freshness": fresh, "last_exit": sp.exits[-1] if sp.exits else None}

    def _refresh_snapshot(self) -> None:
        stages = {name: self._stage_health(sp) for name, sp in self.stages.items()}
        doc = {"run_id": self.opts.run_id, "pid": os.getpid(),
               "state": overall_state(self.phase, {n: s["state"] for n, s in stages.items()}),
               "phase": self.phase, "mode": "replay" if self.replay else "live",
               "ts_ms": now_ms(), "uptime_s": round(time.monotonic() - self.t0, 3),
               "stages": stages}
        with self._lock:
            self._snapshot = doc

    def health_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._snapshot) if self._snapshot else {
                "run_id": self.opts.run_id, "pid": os.getpid(), "state": "starting",
                "phase": "starting", "mode": "replay" if self.replay else "live",
                "ts_ms": now_ms(), "uptime_s": 0.0, "stages": {}}

    def _sampled_pids(self) -> dict[str, int]:
        out = {"supervisor": os.getpid()}
        for sp in list(self.stages.values()):
            pid = sp.pid
            if pid is not None:
                out[sp.name] = pid
        return out

    def write_orchestrator_json(self) -> None:
        write_json_atomic(self.run_dir / "orchestrator.json", {
            "pid": os.getpid(), "run_id": self.opts.run_id, "health_url": self.health.url,
            "run_dir": str(self.run_dir.resolve()), "state": self.phase,
            "started_ms": self.started_ms,
            "stages": {n: {"pid": sp.pid, "restart_count": sp.tracker.restart_count}
                       for n, sp in self.stages.items()}})

    def write_run_manifest(self, ended: bool = False) -> None:
        sections = manifest.merged_sections(
            [sp.sections for sp in self.stages.values()] + [self.post_run.sections])
        manifest.write(self.run_dir, "run_manifest.json", manifest.run_manifest(
            run_id=self.opts.run_id, state=self.phase, started_ms=self.started_ms,
            ended_ms=now_ms() if ended else None, replay_mode=self.replay, sink=self.opts.sink,
            minutes=self.opts.minutes, enabled=list(self.stages), stop_reason=self.stop_reason,
            market_span_s=self.market_span_s(),
            processes=[sp.process_doc() for sp in self.stages.values()],
            restart_policy=self.policy.as_dict(), resource_usage=self.sampler.summary(),
            shutdown_order=self.shutdown_order,
            shutdown_order_configured=list(self.settings["shutdown_order"]),
            sections=sections, post_run=self.post_run.summary(),
            exit_code=0 if ended else None))

    def write_source_manifest(self, ended: bool = False) -> None:
        source: dict[str, Any] = {}
        for sp in self.stages.values():
            source.update(sp.source)
        config = self.opts.config
        manifest.write(self.run_dir, "source_manifest.json", manifest.source_manifest(
            run_id=self.opts.run_id, started_ms=self.started_ms,
            ended_ms=now_ms() if ended else None,
            symbols=list(section(config, "run")["symbols"]), config=config,
            config_snapshot=redacted(config), replay_mode=self.replay, sink=self.opts.sink,
            enabled=list(self.stages), source=source))
