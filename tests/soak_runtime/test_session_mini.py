"""A whole soak session against the mini pipeline (real processes, real signals, real HTTP):
health polls, psutil samples, a SIGKILL proved by a new pid, the shutdown order as observed,
the orphan sweep, and Ctrl+C or SIGTERM at any point."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import psutil
import pytest

from pytest_soak.procs import RUN_MARKER, find_tagged
from pytest_soak.session import SoakSession
from pytest_soak.termination import Terminated, sigterm_as_interrupt
from pytest_soak_evidence.schemas import violations
from tests.soak_runtime.soak_helpers import MINI_SPEC, mini_settings

KILL_BETA = """
name: kill-beta
faults:
  - {id: kill-beta, kind: kill_stage, target: beta, at_s: 20}
"""


def _alive_with_marker(run_id: str) -> list[psutil.Process]:
    return find_tagged(run_id)


@pytest.mark.slow
def test_a_short_soak_observes_health_resources_kill_and_shutdown(tmp_path, write_schedule):
    settings = mini_settings(tmp_path, soak_schedule=str(write_schedule(KILL_BETA)))
    result = SoakSession(settings, "jsonl").run()
    obs = result.observations
    assert violations(obs, "harness_observations") == []
    assert not result.interrupted and obs["errors"] == []
    assert obs["pipeline"]["exit_code"] == 0 and obs["pipeline"]["stop_signal"] == "SIGINT"
    # health: ~6 polls per 60 market seconds at 10 s of market time each
    assert 5 <= obs["health"]["polls"] <= 8
    assert set(obs["health"]["per_stage"]) == {"alpha", "beta", "gamma"}
    lines = (result.run_dir / "observer" / "health.jsonl").read_text().splitlines()
    polls = [p for p in map(json.loads, lines) if p["phase"] == "run"]
    assert len(polls) == obs["health"]["polls"]
    assert all(p["market_s"] >= 0 and set(p["stages"]) == {"alpha", "beta", "gamma"}
               for p in polls)
    # resources: every stage measured, the 2 MB blob is visible
    res = obs["resources"]
    assert {"alpha", "beta", "gamma", "supervisor"} <= set(res["per_process"])
    assert res["max_rss_mb"] > 2 and res["max_open_files"] >= 3
    # the SIGKILL: a new pid for beta, healthy again, restart time measured
    kill = obs["faults"][0]
    assert kill["effect_confirmed"] is True
    assert kill["effect"]["new_pid"] != kill["effect"]["old_pid"]
    [restart] = obs["restarts"]
    assert restart["stage"] == "beta" and 0 < restart["restart_s"] < 5
    assert len(obs["pids"]["beta"]) == 2 and len(obs["pids"]["alpha"]) == 1
    # shutdown: the mini pipeline stops its stages in the order given (alpha, beta, gamma)
    assert obs["shutdown"]["observed_order"] == ["alpha", "beta", "gamma"]
    assert obs["shutdown"]["orphans"] == []
    assert _alive_with_marker(result.run_id) == []
    history = [json.loads(line)["event"] for line in
               (result.run_dir / "observer" / "history.jsonl").read_text().splitlines()]
    for event in ("pipeline_healthy", "fault_start", "fault_effect_confirmed", "stop_sent",
                  "pipeline_exited", "session_end"):
        assert event in history


@pytest.mark.slow
def test_a_killed_stage_is_timed_by_fast_polls_not_by_the_coarse_health_grid(tmp_path,
                                                                             write_schedule):
    # health polls every 120 market s = 6 wall s at 20x, as coarse as LIVE's 10 s grid is
    # against D9's 12 s: the return must be seen within a fraction of that, by the recovery
    # polls the kill starts (the grid alone would see it 0-6 s late)
    settings = mini_settings(tmp_path, soak_minutes="3", soak_speed="20",
                             soak_health_interval_s="120",
                             soak_schedule=str(write_schedule(KILL_BETA)))
    result = SoakSession(settings, "jsonl").run()
    [restart] = result.observations["restarts"]
    assert restart["stage"] == "beta" and restart["new_pid"] is not None
    assert restart["healthy_again_ms"] - restart["new_pid_seen_ms"] < 1500, restart
    assert restart["restart_s"] < 2.5, restart
    # the recovery polls are not health polls: D2's figures are the grid's alone
    assert result.observations["health"]["polls"] <= 2


@pytest.mark.slow
def test_an_orphan_is_found_by_its_marker_recorded_and_ended(tmp_path, monkeypatch):
    monkeypatch.setenv("MINI_SPAWN_ORPHAN", "gamma")
    settings = mini_settings(tmp_path, soak_minutes="0.5")
    result = SoakSession(settings, "jsonl").run()
    orphans = result.observations["shutdown"]["orphans"]
    assert len(orphans) == 1 and "time.sleep(120)" in " ".join(orphans[0]["cmdline"])
    assert not psutil.pid_exists(orphans[0]["pid"]) or \
        psutil.Process(orphans[0]["pid"]).status() == psutil.STATUS_ZOMBIE


def test_a_kill_that_is_never_followed_by_a_restart_stays_unconfirmed(tmp_path,
                                                                      write_schedule):
    spec = tmp_path / "norestart.yaml"
    spec.write_text(_with_flag("--no-restart"))
    settings = mini_settings(tmp_path, soak_config=str(spec), soak_minutes="0.75",
                             soak_schedule=str(write_schedule(KILL_BETA)))
    obs = SoakSession(settings, "jsonl").run().observations
    kill = obs["faults"][0]
    assert kill["effect_confirmed"] is False
    assert obs["restarts"][0]["restart_s"] is None
    assert obs["health"]["per_stage"]["beta"]["healthy_pct"] < 100


def _with_flag(flag: str) -> str:
    """The mini pipeline's spec with one more command-line flag."""
    text = MINI_SPEC.read_text().replace("{spec_dir}", MINI_SPEC.parent.as_posix())
    assert '"alpha,beta,gamma"]' in text
    return text.replace('"alpha,beta,gamma"]', f'"alpha,beta,gamma", "{flag}"]')


@pytest.mark.parametrize(("signum", "reason"), [(signal.SIGINT, "KeyboardInterrupt (Ctrl+C)"),
                                                (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_or_sigterm_mid_run_stops_everything_and_marks_the_run_interrupted(
        tmp_path, sigint_raises, monkeypatch, signum, reason):  # noqa: ANN001
    settings = mini_settings(tmp_path, soak_minutes="10")      # 20 wall s if left alone
    session = SoakSession(settings, "jsonl")
    if signum == signal.SIGTERM:                   # a CI cancel repeats it: not during teardown
        teardown = session._teardown

        def teardown_signalled_again():  # noqa: ANN202
            os.kill(os.getpid(), signal.SIGTERM)
            return teardown()
        monkeypatch.setattr(session, "_teardown", teardown_signalled_again)
    timer = threading.Timer(2.5, lambda: os.kill(os.getpid(), signum))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            session.run()
    finally:
        timer.cancel()
    obs = json.loads((session.run_dir / "harness_observations.json").read_text())
    assert obs["interrupted"] is True and obs["interrupt_reason"] == reason
    assert obs["pipeline"]["stop_signal"] == "SIGINT" and obs["pipeline"]["exit_code"] == 0
    assert violations(obs, "harness_observations") == []
    dod = json.loads((session.run_dir / "dod.json").read_text())
    assert dod["verdict"] == "interrupted"
    assert find_tagged(session.run_id) == []
    assert os.environ.get(RUN_MARKER) is None


def test_a_pipeline_deaf_to_sigint_is_killed_after_the_stop_timeout(tmp_path):
    spec = tmp_path / "deaf.yaml"
    spec.write_text(_with_flag("--ignore-sigint"))
    settings = mini_settings(tmp_path, soak_config=str(spec), soak_minutes="0.5",
                             soak_stop_timeout_s="1")
    result = SoakSession(settings, "jsonl").run()
    obs = result.observations
    assert obs["pipeline"]["stop_signal"] == "SIGINT+SIGKILL"
    assert any("did not exit" in e for e in obs["errors"])
    assert find_tagged(result.run_id) == []


def test_a_child_seen_before_exec_is_named_once_its_command_line_is_known(tmp_path):
    """Between fork and exec a child shows its parent's command line: that name is not final.
    Made deterministic with a child that execs itself into a stage after a while."""
    import subprocess
    import sys

    from pytest_soak.resources import ProcessTree

    script = tmp_path / "parent.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import os, sys, time; time.sleep(0.5); "
        "os.execv(sys.executable, [sys.executable, \"-c\", \"import time; time.sleep(30)\", "
        "\"stage_main\", \"late\"])'])\n"
        "time.sleep(30)\n")
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        tree = ProcessTree(parent.pid)
        seen: list[set[str]] = []
        deadline = time.monotonic() + 20             # generous: a loaded CI machine
        while time.monotonic() < deadline:
            seen.append({name for name, _ in tree.processes()})
            if "late" in seen[-1]:
                break
            time.sleep(0.02)
        assert any(n.startswith("other:") for names in seen for n in names)  # before its exec
        assert "late" in seen[-1] and tree.stage_pids().get("late") is not None
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait(5)


def test_a_shielded_guard_notes_sigterm_instead_of_raising() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt() as guard:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)                          # the handler runs between bytecodes
        guard.shield()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
    assert guard.ignored == 1
    assert signal.getsignal(signal.SIGTERM) is before
