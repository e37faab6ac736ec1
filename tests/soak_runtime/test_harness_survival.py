"""SIGKILL of pytest mid-soak leaves nothing running, and the next pytest session sweeps what a
dead session left and says so, without touching a soak that still runs beside it. Real pytest
subprocesses, a real replay feed, a real Pushgateway, the mini pipeline (which has no timer of
its own: without the watcher it would run forever). Each test's TMPDIR is private, so its state
dir (and its sweep) never meets another session's records on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pytest_soak import harness_record as hr
from pytest_soak.procs import find_tagged, wait_for
from pytest_soak_evidence.atomic import write_json_atomic
from pytest_soak_evidence.schemas import violations
from tests.soak_runtime.soak_helpers import MINI_SPEC
from tests.soak_runtime.test_harness_record import end, record_for, sleeper, started

REPO = Path(__file__).resolve().parents[2]
STORE = "prometheus" if shutil.which("prometheus-pushgateway") else "none"


def _pytest(tmp_path: Path, *options: str) -> subprocess.Popen:
    (tmp_path / "test_one_soak.py").write_text("def test_soak(soak_run):\n    assert soak_run\n")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path / "tmp")}
    cmd = [sys.executable, "-m", "pytest", str(tmp_path / "test_one_soak.py"), "-q", "-s",
           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "--soak-config", str(MINI_SPEC),
           "--soak-schedule", "none", "--soak-run-dir", str(tmp_path / "runs"), *options]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=open(tmp_path / "out.txt", "wb"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _state_dir(tmp_path: Path) -> Path:
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return tmp_path / "tmp" / f"pytest-soak-{user}" / "sessions"


def _history(tmp_path: Path) -> list[str]:
    events = []
    for path in (tmp_path / "runs").glob("*/observer/history.jsonl"):
        events += [json.loads(line)["event"] for line in path.read_text().splitlines() if line]
    return events


def _run_processes(record: dict) -> list[psutil.Process]:
    """Everything of the run as the test sees it: the registered processes and their trees."""
    procs = []
    for entry in record["processes"]:
        proc = hr.same_process(entry["pid"], entry["start_s"])
        if proc is not None:
            procs += [proc] + proc.children(recursive=True)
    return procs


@pytest.mark.slow
def test_sigkill_of_pytest_mid_soak_leaves_no_process_of_the_run(tmp_path):
    harness = _pytest(tmp_path, "--soak-minutes", "30", "--soak-feed", "replay",
                      "--soak-timeseries", STORE)
    victims: list[psutil.Process] = []
    try:
        assert wait_for(lambda: "pipeline_healthy" in _history(tmp_path), 60), \
            (tmp_path / "out.txt").read_text()
        [path] = [p for p in _state_dir(tmp_path).glob("*.json") if ".ended" not in p.name]
        record = json.loads(path.read_text())
        whats = {e["what"] for e in record["processes"]}
        assert {"pipeline", "replay_feed"} <= whats
        assert STORE == "none" or "prometheus-pushgateway" in whats
        victims = _run_processes(record) + [psutil.Process(record["watcher"]["pid"])]
        assert len(victims) >= 3 + 3 + (STORE != "none")   # sidecars, supervisor + 3 stages
        [run] = record["runs"]
        t0 = time.monotonic()
        harness.kill()                        # a CI runner's timeout, the OOM killer
        harness.wait(10)

        def nothing_left() -> bool:
            return not any(hr.alive(p) for p in victims) and not find_tagged(run["run_id"]) \
                and not _marked(record["harness_id"])
        assert wait_for(nothing_left, 30, step_s=0.1)
        elapsed = time.monotonic() - t0
        print(f"nothing of the killed pytest's run left {elapsed:.2f} s after its SIGKILL")
        [report] = [json.loads(p.read_text()) for p in _state_dir(tmp_path).glob("*.ended.json")]
        assert report["ended_by"] == "watcher" and report["run_ids"] == [run["run_id"]]
        assert {e["pid"] for e in report["ended"]} >= {p.pid for p in victims[:-1]}
        assert elapsed < 15
    finally:
        if harness.poll() is None:
            harness.kill()
        for proc in victims:
            if hr.alive(proc):
                proc.kill()


def _pid_alive(pid: int) -> bool:
    try:
        return hr.alive(psutil.Process(pid))
    except psutil.Error:
        return False


def _marked(harness_id: str) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(hr.HARNESS_MARKER) == harness_id:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.slow
def test_the_next_session_sweeps_a_dead_session_and_leaves_a_live_one_alone(tmp_path):
    directory = _state_dir(tmp_path)
    dead_harness = sleeper()
    dead_ct = started(dead_harness.pid)
    end(dead_harness)
    orphan, peer, peer_child = sleeper(), sleeper(), sleeper()
    try:
        dead = record_for(dead_harness.pid, dead_ct, [(orphan.pid, started(orphan.pid))])
        live = record_for(peer.pid, started(peer.pid),
                          [(peer_child.pid, started(peer_child.pid))], "soak-peer")
        for doc in (dead, live):
            write_json_atomic(directory / f"{doc['harness_id']}.json", doc)
        session = _pytest(tmp_path, "--soak-minutes", "0.25", "--soak-feed", "exchange",
                          "--soak-timeseries", "none")
        assert session.wait(120) == 0, (tmp_path / "out.txt").read_text()
        out = (tmp_path / "out.txt").read_text()
        assert (f"soak: an earlier harness (pid {dead_harness.pid}, started" in out
                and f"this session ended 1 of its processes: sleeper[{orphan.pid}]" in out), out
        assert orphan.wait(5) is not None
        assert peer.poll() is None and peer_child.poll() is None        # a live soak: untouched
        [obs_path] = (tmp_path / "runs").glob("*/harness_observations.json")
        obs = json.loads(obs_path.read_text())
        assert violations(obs, "harness_observations") == []
        [swept] = obs["harness"]["earlier_harnesses_swept"]
        assert swept["harness_id"] == dead["harness_id"] and swept["ended_by"] == "this session"
        assert [e["pid"] for e in swept["ended"]] == [orphan.pid]
        # the session's own record went with its clean end; the live peer's stays
        assert sorted(p.name for p in directory.iterdir() if p.suffix == ".json") == \
            [f"{live['harness_id']}.json"]
        assert wait_for(lambda: not _pid_alive(obs["harness"]["watcher_pid"]), 5)
    finally:
        end(orphan, peer, peer_child)
