"""One soak run: sidecars up, pipeline up, healthy, fault schedule, SIGINT, evidence.

    result = SoakSession(settings, sink="dual").run()     # usable without pytest
    result.run_dir / "harness_observations.json"

Phases (each in the history): prepare -> sidecars -> pipeline start -> healthy -> schedule
(market time; faults; observer polling) -> stop (SIGINT to the supervisor only, so it stops
its stages in its own order) -> orphan sweep -> store read-back -> sidecars down ->
harness_observations.json. Any exception, Ctrl+C or SIGTERM at any point still runs the teardown:
everything started is stopped, what exists is written, and the run is marked interrupted. A
SIGKILL leaves no teardown: every process started here carries the harness's marker and is in
its record (harness_record), and the record's watcher (reaper) ends them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pytest_soak import alert_path, harness_record, latency
from pytest_soak.contract import check_schedule
from pytest_soak.fault_actions import FaultContext, FaultRunner
from pytest_soak.faults import Schedule, check_fits, load_schedule
from pytest_soak.history import History, now_ms
from pytest_soak.market_clock import MarketClock
from pytest_soak.market_source import (
    market_line,
    missing_symbols,
    soak_profile,
    stream_limit,
)
from pytest_soak.observations import build_observations
from pytest_soak.observer import Observer
from pytest_soak.pipeline_spec import PipelineSpec, base_values, load_pipeline_spec
from pytest_soak.procs import RUN_MARKER, kill_tree, popen_logged, send_stop, sweep, wait_exit
from pytest_soak.progress import Progress, ProgressSnapshot, Rates
from pytest_soak.ready_watch import ReadyWatch
from pytest_soak.resources import ProcessTree
from pytest_soak.settings import SoakSettings, SoakUsageError
from pytest_soak.sidecars import FeedSidecar, StoreSidecar, store_placeholders
from pytest_soak.sink_watch import SinkWatch
from pytest_soak.termination import interrupt_reason, sigterm_as_interrupt
from pytest_soak_evidence.atomic import write_json_atomic
from pytest_soak_evidence.schemas import violations

OBSERVATIONS = "harness_observations.json"
# Market second 0 this many wall seconds (x speed, in market time) after the feed's first
# event: past a healthy start of the reference pipeline under load (1.5-2.5 wall s measured at
# 30x), short enough not to stretch the gate
MARKET_ZERO_WALL_S = 5.0


@dataclass
class SoakResult:
    run_dir: Path
    run_id: str
    sink: str
    settings: SoakSettings | None
    observations: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False

    @classmethod
    def from_run_dir(cls, run_dir: Path | str, settings: SoakSettings | None = None
                     ) -> SoakResult:
        """Judge-only mode: an existing run folder, nothing started."""
        run_dir = Path(run_dir)
        try:
            obs = json.loads((run_dir / OBSERVATIONS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            obs = {}
        return cls(run_dir=run_dir, run_id=str(obs.get("run_id") or run_dir.name),
                   sink=str(obs.get("sink") or "?"), settings=settings, observations=obs,
                   interrupted=bool(obs.get("interrupted")))

    def summary_line(self) -> str:
        state = "INTERRUPTED" if self.interrupted else "completed"
        errors = self.observations.get("errors") or []
        extra = f", {len(errors)} harness error(s)" if errors else ""
        return f"soak run {self.run_id} (sink={self.sink}) {state}{extra}: {self.run_dir}"


def new_run_id(sink: str, worker: str | None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return f"soak-{stamp}-{sink}" + (f"-{worker}" if worker else "") + f"-{os.getpid() % 10000}"


class SoakSession:
    def __init__(self, settings: SoakSettings, sink: str, *, spec: PipelineSpec | None = None,
                 schedule: Schedule | None = None, progress_stream: TextIO | None = None,
                 progress_interactive: bool | None = None) -> None:
        self.settings, self.sink = settings, sink
        self.spec = spec or load_pipeline_spec(settings.pipeline_config)
        self.schedule = schedule or load_schedule(settings.schedule, seed=settings.seed)
        check_fits(self.schedule, settings.minutes)
        check_schedule(self.schedule, self.spec.contract)
        self.run_id = new_run_id(sink, settings.worker_id)
        self.run_dir = (settings.run_dir / self.run_id).resolve()
        self.harness_dir = self.run_dir / "harness"
        self.feed: FeedSidecar | None = None
        self._stream_limit: float | None = None
        self._check_recording()                  # a usage error leaves no run folder behind
        self.harness_dir.mkdir(parents=True, exist_ok=True)
        self.history = History(self.run_dir)
        self.clock = MarketClock(settings.speed)
        self.guard = harness_record.guard()      # sweeps what dead harnesses left, once
        self.store = StoreSidecar(settings.timeseries, self.harness_dir / "store",
                                  settings.timeseries_url, guard=self.guard)
        self.alert_path: alert_path.AlertPath | None = None   # LIVE / --soak-alert-path
        self.alert_path_note: dict[str, Any] | None = None
        self.proc = None
        self.command: list[str] = []
        self.observer: Observer | None = None
        self.ready_watch: ReadyWatch | None = None
        self.sink_watch: SinkWatch | None = None      # signal latency (latency.py)
        self.runner: FaultRunner | None = None
        self.progress: Progress | None = None
        self._progress_stream, self._progress_tty = progress_stream, progress_interactive
        self.health_url: str | None = None
        self.times: dict[str, int | None] = {k: None for k in (
            "started_ms", "healthy_ms", "stop_sent_ms", "stopped_ms")}
        self.stop_signal: str | None = None
        self.exit_code: int | None = None
        self.interrupted, self.interrupt_reason = False, None
        self.orphans: list[dict] = []
        self.sweep_error: str | None = None        # the sweep raised: D10's orphans unknown
        self.readback: dict | None = None
        self.readback_error: str | None = None
        self.end_event_ms: int | None = None
        self.end_market_s: float | None = None      # market time frozen at the stop
        self.events_rate, self.signals_rate = Rates(), Rates()

    # ---- the run ------------------------------------------------------------------------------
    def run(self) -> SoakResult:
        self.history.record("session_start", None, run_id=self.run_id, sink=self.sink,
                            seed=self.schedule.seed, mode=self.settings.mode)
        self.guard.add_run(self.run_id, self.run_dir)
        failure: BaseException | None = None
        with sigterm_as_interrupt() as sigterm:
            try:
                self._start_sidecars()
                self._start_pipeline()
                self._wait_healthy()
                self._run_schedule()
                self._stop_pipeline(self.settings.stop_timeout_s)
            except BaseException as exc:  # noqa: BLE001 - Ctrl+C, SIGTERM, timeouts: teardown
                failure = exc
                self.interrupted = True
                self.interrupt_reason = interrupt_reason(exc)
                self.history.record("interrupted", self.market_s(), reason=self.interrupt_reason)
            finally:
                sigterm.shield()
                result = self._teardown()
        if failure is not None:
            raise failure
        return result

    def market_s(self) -> float | None:
        if self.end_market_s is not None:
            return self.end_market_s
        return self.clock.market_s() if self.clock.started else None

    def _start_sidecars(self) -> None:
        if self.settings.feed == "replay":
            symbols = self._symbols()
            self.feed = FeedSidecar(self.run_dir, self.settings.speed, self.schedule.seed,
                                    symbols, live=not self.settings.replay, guard=self.guard,
                                    recording=self.settings.recording,
                                    profile=self._profile())
            self.feed.start()
            self.clock.feed = self.feed
            self.feed.on_control = self.clock.invalidate
            self.history.record("feed_started", None, **self.feed.info)
            if self.settings.recording is not None:       # say what fills the soak's minutes
                self._say(market_line(self.feed.state().get("source") or {},
                                      self.settings.minutes))
        self.store.start()
        self.history.record("store_started", None, type=self.settings.timeseries,
                            url=self.store.url)
        self.alert_path, self.alert_path_note = alert_path.for_session(
            self.settings, self.store, self.run_dir, self.run_id, self.guard)
        self.history.record("alert_path", None, **self.alert_path_note)

    def _check_recording(self) -> None:
        if self.settings.recording is None or self.settings.feed != "replay":
            return
        missing = missing_symbols(self.settings.recording, self._symbols())
        if missing:
            raise SoakUsageError(f"--soak-recording {self.settings.recording}: no stream of "
                                 f"{', '.join(missing)}, which the pipeline's config "
                                 "subscribes (run.symbols)")

    def _market_stream_limit(self) -> float:
        if self._stream_limit is None:          # a recording is scanned once per run
            self._stream_limit = stream_limit(self.settings.recording, self._profile(),
                                              exchange=self.settings.feed == "exchange")
        return self._stream_limit

    def _profile(self) -> str:
        return soak_profile(self.settings.market_profile, self.schedule.market_profile)

    def _say(self, line: str) -> None:
        stream = self._progress_stream or sys.__stdout__ or sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def _symbols(self) -> list[str]:
        base = self.spec.render_config(self._values(dry=True)) or {}
        return list((base.get("run") or {}).get("symbols") or ["BTCUSDT", "ETHUSDT"])

    def _values(self, dry: bool = False) -> dict[str, Any]:
        s = self.settings
        feed = self.feed
        return {**base_values(self.spec),
                "config": str(self.harness_dir / "pipeline_config.yaml"),
                "run_dir": str(self.run_dir), "run_id": self.run_id, "sink": self.sink,
                "minutes": f"{s.minutes:g}",
                "pipeline_minutes": f"{s.minutes + self._pipeline_margin_min():g}",
                "health_port": "0", "mode": s.mode, "speed": s.speed,
                "replay_flag": "1" if s.replay else "0", "replay_mode_bool": s.replay,
                "report_tz": s.report_tz,
                "market_stream_limit_per_s": self._market_stream_limit(),
                **(store_placeholders(s.timeseries) if dry else self.store.placeholders()),
                "feed_ws_url": None if dry or feed is None else feed.ws_url,
                "feed_rest_url": None if dry or feed is None else feed.rest_url,
                "feed_control_url": None if dry or feed is None else feed.control_url}

    def _start_pipeline(self) -> None:
        import yaml
        values = self._values()
        config = self.spec.render_config(values)
        if config is not None:
            (self.harness_dir / "pipeline_config.yaml").write_text(
                yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.command = self.spec.render_command(values)
        # REPORT_TZ is the harness's (SPEC's environment contract), after the spec's env so
        # no pipeline config can choose the zone D11 then checks the reports against
        env = {**os.environ, **{k: v for k, v in self.spec.render_env(values).items()},
               "REPORT_TZ": self.settings.report_tz, **self.guard.env(),
               RUN_MARKER: self.run_id}
        env = {k: v for k, v in env.items() if v is not None}
        self.times["started_ms"] = now_ms()
        self.proc = popen_logged(self.command, self.harness_dir / "pipeline.out.log", env,
                                 cwd=self.spec.workdir)
        self.guard.register(self.proc, "pipeline", group_leader=os.name == "posix")
        self.history.record("pipeline_started", None, pid=self.proc.pid, command=self.command)
        tree = ProcessTree(self.proc.pid, self.spec.stage_regex)
        s = self.settings
        self.observer = Observer(
            self.run_dir, tree, self.spec.stages, health_url=lambda: self.health_url,
            market_s=lambda: self.market_s() or 0.0, health_interval_s=s.health_interval_s,
            speed=s.speed, sample_interval_s=s.sample_interval_s or max(
                0.5, s.health_wall_interval_s),
            fault_ids_at=lambda m: self.runner.windows_at(m) if self.runner else [])
        self.observer.start()
        self.ready_watch = ReadyWatch(self.run_dir / "outbox" / "ready")  # D12
        self.ready_watch.start()
        self.sink_watch = SinkWatch(self.run_dir, self.sink)
        self.sink_watch.start()

    def _discover_health_url(self) -> str | None:
        health = self.spec.health
        if health.get("url"):
            return str(health["url"])
        path = self.run_dir / str(health.get("discovery_file", "orchestrator.json"))
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        url = doc.get(str(health.get("url_key", "health_url")))
        return str(url) if url else None

    def _wait_healthy(self) -> None:
        """Until the pipeline is up: every stage healthy (contract level >= 1), or every stage
        with a live process (level 0: no health URL to ask)."""
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            self._check_pipeline_alive("while starting")
            if self._up():
                self.times["healthy_ms"] = now_ms()
                self.history.record("pipeline_healthy", None, health_url=self.health_url)
                return
            time.sleep(0.05)
        if self.spec.contract.level >= 1 and self.health_url is None:
            health = self.spec.health
            where = health.get("url") or f"{health.get('discovery_file')} (key " \
                f"{health.get('url_key', 'health_url')!r})"
            self.history.error(f"contract level {self.spec.contract.level}: the pipeline never "
                               f"published its health URL in {where} within "
                               f"{self.settings.startup_timeout_s:g} s")
            return
        self.history.error(f"the pipeline was not up within "
                           f"{self.settings.startup_timeout_s:g} s; the run goes on and the "
                           f"checks will show it")

    def _up(self) -> bool:
        if self.spec.contract.level == 0:
            pids = self.observer.tree.stage_pids()
            return all(stage in pids for stage in self.spec.stages)
        if self.health_url is None:
            self.health_url = self._discover_health_url()
            return False
        return self.observer.all_healthy()

    def _check_pipeline_alive(self, when: str) -> None:
        code = self.proc.poll()
        if code is not None:
            raise PipelineExited(f"the pipeline exited with code {code} {when}; see "
                                 f"{self.harness_dir / 'pipeline.out.log'}")

    def _pipeline_margin_min(self) -> float:
        """What the pipeline's own timer adds to the soak's minutes: the spec's margin and the
        market minutes from the feed's first event to second 0."""
        zero = MARKET_ZERO_WALL_S * self.settings.speed / 60 if self.settings.feed == "replay" \
            else 0.0
        return zero + self.spec.self_stop_margin_min

    def _feed_session_start(self) -> int | None:
        """The event time of the feed's first event, once its session started (it starts
        when every stream has a subscriber, or after its grace period: a pipeline may be
        healthy before). Before, the feed's clock is the wall's, which REPLAY stamps leave."""
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            try:
                first = self.feed.state().get("session_start_ms")
            except Exception:  # noqa: BLE001 - no anchor: second 0 is now, as without a feed
                return None
            if first is not None:
                return int(first)
            self._check_pipeline_alive("before the feed's session started")
            time.sleep(0.05)
        self.history.error(f"the feed's session did not start within "
                           f"{self.settings.startup_timeout_s:g} s of the pipeline being up")
        return None

    def _start_market_clock(self) -> None:
        """Market second 0 at a fixed event time of the feed's session, MARKET_ZERO_WALL_S x
        speed after its first event, so one seed's schedule meets one market whenever the
        pipeline happened to become healthy (issue 14); a pipeline slower than that starts
        the clock when healthy, and the history says the run is not reproducible."""
        zero = None
        if self.feed is not None:
            first = self._feed_session_start()
            zero = None if first is None else int(first + MARKET_ZERO_WALL_S * self.settings.speed
                                                  * 1000)
        if zero is not None:
            if self.clock.event_ms() > zero:
                self.history.record("market_zero_late", None, zero_event_ms=zero, reason=(
                    f"the pipeline was healthy after the market's second 0 "
                    f"({MARKET_ZERO_WALL_S:g} wall s x speed after the feed's first event): "
                    f"second 0 is the healthy moment, and the run is not reproducible by its "
                    f"seed"))
                zero = None
            while zero is not None and self.clock.event_ms() < zero:
                self._check_pipeline_alive("before the market's second 0")
                time.sleep(0.01)
        self.clock.start(zero)

    def _run_schedule(self) -> None:
        self._start_market_clock()
        self.observer.counting = True
        self.history.record("market_clock_start", 0.0, start_event_ms=self.clock.start_event_ms)
        ctx = FaultContext(feed=self.feed, store=self.store, observer=self.observer,
                           read_status=self.read_status, market_s=self.clock.market_s,
                           event_ms=self.clock.event_ms, speed=self.settings.speed,
                           start_event_ms=self.clock.start_event_ms,
                           level=self.spec.contract.level)
        self.runner = FaultRunner(self.schedule, ctx, self.history,
                                  end_s=self.settings.minutes * 60)
        self._start_progress()
        end_s = self.settings.minutes * 60
        while True:
            market_s = self.clock.market_s()
            if market_s >= end_s:
                break
            if self.proc.poll() is not None:
                self.history.error(f"the pipeline exited by itself (code {self.proc.returncode})"
                                   f" at market second {market_s:.0f} of {end_s:.0f}", market_s)
                break
            self.runner.step(market_s)
            time.sleep(min(0.1, max(0.01, self.settings.health_wall_interval_s / 4)))
        self.runner.finish(self.clock.market_s())

    # ---- stop and teardown --------------------------------------------------------------------
    def _stop_pipeline(self, timeout_s: float) -> None:
        if self.proc is None or self.times["stop_sent_ms"] is not None:
            return
        if self.observer:
            self.observer.polling = False          # a stopping stage is not an unhealthy one
            self.observer.stop_sent = True
            self.observer.fast_tick_s = 0.05
        self.end_event_ms = self.clock.event_ms() if self.clock.started else None
        self.end_market_s = self.market_s()
        if self.proc.poll() is None:
            self.stop_signal = send_stop(self.proc)
            self.times["stop_sent_ms"] = now_ms()
            self.history.record("stop_sent", self.market_s(), signal=self.stop_signal)
            if wait_exit(self.proc, timeout_s) is None:
                self.history.error(f"the pipeline did not exit within {timeout_s:g} s of "
                                   f"{self.stop_signal}: SIGKILL to its process tree")
                kill_tree(self.proc.pid)
                self.stop_signal = f"{self.stop_signal}+SIGKILL"
                wait_exit(self.proc, 10)
        self.exit_code = self.proc.returncode
        self.times["stopped_ms"] = now_ms()
        self.history.record("pipeline_exited", self.market_s(), exit_code=self.exit_code)

    def _teardown(self) -> SoakResult:
        steps = [self._stop_progress, self._heal_faults, self._stop_short, self._stop_observer,
                 self._sweep, self._read_store, self._stop_sidecars, self._write_latency]
        for step in steps:
            try:
                step()
            except BaseException as exc:  # noqa: BLE001 - teardown must reach the end
                self.history.error(f"teardown {step.__name__}: {type(exc).__name__}: {exc}")
        doc = self.observations()
        problems = violations(doc, "harness_observations")
        if problems:                       # written anyway: the loader names the bad path
            doc["errors"].extend(f"observations schema: {p}" for p in problems[:10])
        write_json_atomic(self.run_dir / OBSERVATIONS, doc)
        if self.interrupted:
            self._write_interrupted_dod()
        self.history.record("session_end", None, interrupted=self.interrupted)
        self.history.close()
        return SoakResult(self.run_dir, self.run_id, self.sink, self.settings, doc,
                          self.interrupted)

    def _stop_progress(self) -> None:
        if self.progress:
            self.progress.stop(self._snapshot("stopped"))

    def _heal_faults(self) -> None:
        if self.runner is not None and self.interrupted:
            self.runner.heal(self.market_s() or 0.0)

    def _stop_short(self) -> None:
        """After an interruption the pipeline still gets its graceful stop, but briefly."""
        self._stop_pipeline(min(20.0, self.settings.stop_timeout_s))

    def _stop_observer(self) -> None:
        if self.observer:
            self.observer.stop()
        if self.ready_watch:
            self.ready_watch.stop()
        if self.sink_watch:
            self.sink_watch.stop()

    def _sweep(self) -> None:
        pgid = self.proc.pid if (self.proc is not None and os.name == "posix") else None
        try:
            self.orphans = sweep(self.run_id, pgid)
        except Exception as exc:
            self.sweep_error = f"{type(exc).__name__}: {exc}"
            raise                                  # the teardown records it and goes on
        if self.orphans:
            self.history.record("orphans_swept", None, orphans=self.orphans)

    def _read_store(self) -> None:
        if self.store.url is None or self.proc is None:
            return
        try:
            self.readback = self.store.readback(self.run_id, self._influx_database())
        except Exception as exc:  # noqa: BLE001 - recorded; D4 turns unknown
            self.readback_error = f"{type(exc).__name__}: {exc}"

    def _influx_database(self) -> str | None:
        path = self.harness_dir / "pipeline_config.yaml"
        try:
            import yaml
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, ValueError):
            return None
        return ((config.get("timeseries") or {}).get("database")) or None

    def _stop_sidecars(self) -> None:
        try:
            if self.alert_path is not None:      # before the store: it scrapes the store
                self.alert_path.stop()
        finally:
            try:
                self.store.cleanup(self.run_id)
            finally:
                if self.feed is not None:
                    self.feed.stop()

    def _write_latency(self) -> None:
        """signal_latency.json, from the sink watch and the sent log the feed wrote at its stop."""
        if self.sink_watch is not None:
            latency.write(self.run_dir, self.run_id, self.settings.mode, self.settings.speed,
                          self.sink_watch, self.feed.sent_log if self.feed else None,
                          self.clock.start_wall_ms)

    def _write_interrupted_dod(self) -> None:
        from pytest_soak import verdict
        doc = verdict.build_dod(self.run_id, {}, interrupted=True,
                                harness_errors=[self.interrupt_reason or "interrupted"],
                                mode=self.settings.mode, sink=self.sink)
        verdict.write_dod(self.run_dir, doc)

    # ---- the pipeline's claims, read for progress and fault proofs -----------------------------
    def read_status(self, stage: str) -> dict | None:
        try:
            return json.loads((self.run_dir / "status" / f"{stage}.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def _claim(self, dotted: str | None) -> float | None:
        if not dotted:
            return None
        stage, *keys = dotted.split(".")
        node: Any = self.read_status(stage)
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, (int, float)) else None

    def _firing_alerts(self) -> list[str]:
        if not self.spec.alerts_from:
            return []
        try:
            doc = json.loads((self.run_dir / self.spec.alerts_from).read_text("utf-8"))
        except (OSError, ValueError):
            return []
        alerts = doc.get("alerts") or {}
        events = alerts.get("events") or alerts.get("history") or [] if isinstance(
            alerts, dict) else alerts
        return sorted({a.get("rule", "?") for a in events if isinstance(a, dict)
                       and a.get("fired_at_ms") and not a.get("resolved_at_ms")})

    # ---- progress -----------------------------------------------------------------------------
    def _start_progress(self) -> None:
        self.progress = Progress(self._snapshot, self.settings.progress_interval_s,
                                 stream=self._progress_stream,
                                 interactive=self._progress_tty)
        self.progress.start()

    def _snapshot(self, phase: str = "running") -> ProgressSnapshot:
        market_s = self.market_s() or 0.0
        self.events_rate.add(market_s, self._claim(self.spec.progress.get("events")))
        self.signals_rate.add(market_s, self._claim(self.spec.progress.get("signals")))
        poll = self.observer.last_poll if self.observer else None
        stages = {s: (poll.stages.get(s) if poll and poll.ok else None) for s in self.spec.stages}
        started = self.times["healthy_ms"] or self.times["started_ms"] or now_ms()
        return ProgressSnapshot(
            market_s=market_s, total_market_s=self.settings.minutes * 60,
            wall_s=(now_ms() - started) / 1000, speed=self.settings.speed,
            events_per_min=self.events_rate.per_min(),
            signals_per_min=self.signals_rate.per_min(), stages=stages,
            faults=self.runner.active() if self.runner else [],
            alerts=self._firing_alerts(), phase=phase)

    # ---- harness_observations.json ------------------------------------------------------------
    def observations(self) -> dict[str, Any]:
        return build_observations(self)


class PipelineExited(RuntimeError):
    """The pipeline's root process ended before the harness asked it to."""
