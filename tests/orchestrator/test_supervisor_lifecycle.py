"""Supervisor lifecycle on real processes and real signals: restart after SIGKILL, hung
detection after SIGSTOP, give-up after the burst limit, no orphan after the supervisor's own
SIGKILL, ordered graceful shutdown on SIGINT."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from pytest_soak_evidence.schemas import load_validated, violations
from tests.orchestrator.orch_support import read_json, run_processes, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="POSIX signals (SIGKILL/SIGSTOP)")]
ALL = ["harvest", "signal", "broker", "report"]
STAGE_SECTIONS = ("$.harvester_metrics", "$.signal_metrics", "$.executor_metrics",
                  "$.timeseries_export", "$.alerts")


def supervisor_violations(doc: dict) -> list[str]:
    """Schema violations in the supervisor-owned part of run_manifest.json (stage-published
    sections are each stage's own tests' business; the SIGINT test validates everything)."""
    return [v for v in violations(doc, "run_manifest") if not v.startswith(STAGE_SECTIONS)]


def kill_and_wait_restart(pipe, name: str, timeout_s: float = 15,
                          others: set[str] | None = None) -> tuple[int, int]:
    """SIGKILL a stage, wait for its new pid and health; `others` collects every other stage
    seen not healthy meanwhile (what a kill_stage fault must tolerate besides its target)."""
    old = pipe.stage_pid(name)
    os.kill(old, signal.SIGKILL)

    def seen(ok: bool) -> bool:
        doc = pipe.health()
        if others is not None:
            others.update(f"{n} {e['state']} after killing {name}"
                          for n, e in doc["stages"].items()
                          if n != name and e["state"] != "healthy")
        return ok
    new = wait_for(lambda: seen((pipe.stage_pid(name) or old) != old) and pipe.stage_pid(name),
                   timeout_s, f"{name} restarted with a new pid (orchestrator.json)")
    wait_for(lambda: seen(pipe.stage_state(name) == "healthy"), timeout_s,
             f"{name} healthy again")
    return old, new


def assert_health_names_the_live_process(pipe, name: str, pid: int) -> None:
    """The health contract the harness relies on (docs/soak.md): a healthy stage's `pid` is
    its running process, whose command line names the stage (the spec's stage_regex)."""
    entry = pipe.health()["stages"][name]
    proc = psutil.Process(pid)
    assert entry["state"] == "healthy" and entry["pid"] == pid, entry
    assert proc.status() != psutil.STATUS_ZOMBIE
    assert "orchestrator.stage_main" in proc.cmdline() and name in proc.cmdline()


def test_sigkilled_stages_are_restarted_and_recorded(pipeline_factory) -> None:
    pipe = pipeline_factory().start()
    health = pipe.wait_all_healthy()
    assert not violations(health, "health")
    others: set[str] = set()
    for name in ALL:
        assert_health_names_the_live_process(pipe, name, pipe.stage_pid(name))
        old, new = kill_and_wait_restart(pipe, name, others=others)
        assert new != old
        assert pipe.health()["stages"][name]["restart_count"] == 1
        assert_health_names_the_live_process(pipe, name, new)
    # a kill degrades only its target: kill_stage tolerates no other stage's health
    assert others == set()
    # The manifest is rewritten at each failure, each respawn and every few seconds: wait for
    # one written after the last respawn (restart_count goes up when the restart is scheduled,
    # the pid only after the backoff).
    doc = wait_for(lambda: (lambda m: m if all(
        p["restart_count"] == 1 and p["pid"] == pipe.stage_pid(p["name"])
        for p in m.get("status", {}).get("processes", [])) else None)(
        pipe.manifest()), 5, "manifest shows every restart")
    assert not supervisor_violations(doc)
    for proc in doc["status"]["processes"]:
        assert proc["exits"][0]["signal"] == "SIGKILL"
        assert proc["exits"][0]["reason"] == "exited"
        assert len(proc["pids"]) == 2
        assert doc["restart_backoff_pattern"][proc["name"]] == [0.1]
    pipe.send(signal.SIGINT)
    assert pipe.wait(30) == 0


def test_repeated_kills_follow_the_backoff_then_give_up(pipeline_factory) -> None:
    # max_restarts 4 in the window: the 5th failure gives the stage up (unhealthy, no spin).
    pipe = pipeline_factory().start(enable="harvest,signal")
    pipe.wait_all_healthy()
    for _ in range(4):
        kill_and_wait_restart(pipe, "signal")
    last_pid = pipe.stage_pid("signal")
    os.kill(last_pid, signal.SIGKILL)
    health = wait_for(lambda: (lambda h: h if h["stages"]["signal"]["gave_up"] else None)(
        pipe.health()), 10, "signal given up")
    assert health["stages"]["signal"]["state"] == "unhealthy"
    assert health["state"] == "degraded"
    time.sleep(1.0)                                   # would be several restarts if it spun
    assert pipe.stage_pid("signal") is None
    manifest = wait_for(lambda: (lambda m: m if m["status"]["processes"][1]["gave_up"] else None)(
        pipe.manifest()), 5, "manifest shows the give-up")
    signal_doc = manifest["status"]["processes"][1]
    assert manifest["restart_backoff_pattern"]["signal"] == [0.1, 0.2, 0.4, 0.4]
    assert signal_doc["restart_count"] == 4 and len(signal_doc["exits"]) == 5
    pipe.send(signal.SIGINT)
    assert pipe.wait(30) == 0


def test_sigstopped_stage_is_detected_as_hung_and_restarted(pipeline_factory) -> None:
    pipe = pipeline_factory().start(enable="harvest,signal")
    pipe.wait_all_healthy()
    stopped = pipe.stage_pid("harvest")
    os.kill(stopped, signal.SIGSTOP)
    try:
        new = wait_for(lambda: (pipe.stage_pid("harvest") or stopped) != stopped
                       and pipe.stage_pid("harvest"), 10, "hung harvest replaced")
    finally:
        if run_processes(pipe.run_id) and stopped in [p.pid for p in run_processes(pipe.run_id)]:
            os.kill(stopped, signal.SIGCONT)
    assert new != stopped
    wait_for(lambda: pipe.stage_state("harvest") == "healthy", 15, "harvest healthy again")
    exits = pipe.manifest()["status"]["processes"][0]["exits"]
    assert exits[0]["reason"] == "hung" and exits[0]["signal"] == "SIGKILL"
    pipe.send(signal.SIGINT)
    assert pipe.wait(30) == 0


def test_no_stage_outlives_a_sigkilled_supervisor(pipeline_factory) -> None:
    pipe = pipeline_factory().start()
    pipe.wait_all_healthy()
    stage_pids = {pipe.stage_pid(name) for name in ALL}
    assert len(run_processes(pipe.run_id)) == 4        # the 4 stages carry the marker
    pipe.send(signal.SIGKILL)
    pipe.wait(10)
    wait_for(lambda: not run_processes(pipe.run_id), 5, "every stage gone")
    # Stages exited through their stop path (flush, final status), not by being killed.
    for name in ALL:
        status = read_json(pipe.run_dir / "status" / f"{name}.json")
        assert status["pid"] in stage_pids and status["state"] == "stopped", status
    assert not supervisor_violations(pipe.manifest())   # last atomic rewrite still valid


def test_sigint_stops_stages_in_order_flushed_and_exits_0(pipeline_factory) -> None:
    secret = "sekret-" + os.urandom(6).hex()
    # No sampling round falls between the stages' start and the SIGINT: the supervisor's own
    # round before the shutdown must measure every stage (a stage started since the last
    # round was once missing from resource_usage).
    pipe = pipeline_factory(supervisor={"resources": {"sample_interval_s": 600}},
                            env={"BINANCE_API_KEY": secret}).start(sink="dual")
    pipe.wait_all_healthy()
    pipe.send(signal.SIGINT)
    assert pipe.wait(60) == 0
    manifest = load_validated(pipe.run_dir / "run_manifest.json", "run_manifest")
    order = manifest["shutdown_order"]
    assert [entry["stage"] for entry in order] == ["report", "broker", "signal", "harvest"]
    times = [(e["requested_ms"], e["stopped_ms"]) for e in order]
    assert all(a[1] <= b[0] for a, b in zip(times, times[1:], strict=False))   # one by one
    assert all(e["exit_code"] == 0 and not e["forced"] for e in order)
    assert manifest["state"] == "stopped" and manifest["exit_code"] == 0
    assert manifest["duration"]["stop_reason"] == "SIGINT"
    for name in ALL:
        assert read_json(pipe.run_dir / "status" / f"{name}.json")["state"] == "stopped"
    source = load_validated(pipe.run_dir / "source_manifest.json", "source_manifest")
    assert source["session_end_ms"] >= source["session_start_ms"]
    assert source["config_snapshot"]["secrets"]["binance_api_key"] == "***REDACTED***"
    assert manifest["resource_usage"]["sample_count"] > 0
    assert set(manifest["resource_usage"]["per_process"]) >= set(ALL)
    assert not run_processes(pipe.run_id)
    for path in pipe.run_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_live_minutes_are_wall_minutes_and_stale_feed_degrades(pipeline_factory) -> None:
    # LIVE mode, no feed to connect to: harvest heartbeats but gets no market event, so the
    # strict freshness window marks it degraded; --minutes ends the run by itself with exit 0.
    pipe = pipeline_factory(
        supervisor={"freshness": {"stages": ["harvest"], "live_max_age_s": 0.5}},
        env={"V13_REPLAY_MODE": "0"}).start(enable="harvest", minutes=0.08)
    health = wait_for(lambda: (lambda h: h if h["stages"].get("harvest", {}).get("state")
                               == "degraded" else None)(pipe.health()), 4, "harvest degraded")
    assert health["mode"] == "live" and health["state"] == "degraded"
    assert health["stages"]["harvest"]["freshness"]["checked"] is True
    assert health["stages"]["harvest"]["freshness"]["ok"] is False
    started = time.monotonic()
    assert pipe.wait(30) == 0
    manifest = load_validated(pipe.run_dir / "run_manifest.json", "run_manifest")
    assert manifest["duration"]["stop_reason"] == "minutes elapsed (wall clock)"
    assert 4.8 - 1 <= manifest["duration"]["wall_s"] <= 4.8 + 10
    assert time.monotonic() - started < 30


def test_replay_mode_is_lenient_and_wall_capped(pipeline_factory) -> None:
    pipe = pipeline_factory(supervisor={"replay_wall_cap_factor": 1.0}).start(
        enable="harvest", minutes=0.05)
    health = pipe.wait_all_healthy()
    assert health["mode"] == "replay"
    assert health["stages"]["harvest"]["freshness"]["checked"] is False
    assert pipe.wait(30) == 0
    manifest = load_validated(pipe.run_dir / "run_manifest.json", "run_manifest")
    assert manifest["duration"]["stop_reason"].startswith(("minutes elapsed", "wall-clock cap"))
