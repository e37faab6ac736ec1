"""Nothing survives the harness: the watcher and the sweep of dead harnesses' records, with real
processes and real signals (each harness here is a real process: a sleeper or a fake harness
script using the real HarnessGuard)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pytest_soak import harness_record as hr
from pytest_soak.procs import wait_for
from pytest_soak.resources import start_s
from pytest_soak_evidence.atomic import write_json_atomic

REPO = Path(__file__).resolve().parents[2]
SLEEP = "import time; time.sleep(120)"

FAKE_HARNESS = """
import json, os, subprocess, sys, time
from pathlib import Path
from pytest_soak.harness_record import HarnessGuard
guard = HarnessGuard(Path(sys.argv[1]))
guard.start()
SLEEP = "import time; time.sleep(120)"
# a registered group leader with a child in its group that drops every environment marker
leader = subprocess.Popen([sys.executable, "-c",
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', %r], env={}); "
    "time.sleep(120)" % SLEEP], start_new_session=True)
guard.register(leader, "leader", group_leader=True)
# never registered: found by the harness's marker alone
marked = subprocess.Popen([sys.executable, "-c", SLEEP], env={**os.environ, **guard.env()},
                          start_new_session=True)
print(json.dumps({"watcher": guard.watcher_pid, "leader": leader.pid, "marked": marked.pid}),
      flush=True)
if sys.argv[2] == "clean":
    time.sleep(0.5)
    guard.close()
    sys.exit(0)
time.sleep(120)
"""


def sleeper(env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLEEP], start_new_session=True,
                            env=None if env is None else {**os.environ, **env})


def started(pid: int) -> float:
    return start_s(psutil.Process(pid))


def gone(pid: int, create_time: float) -> bool:
    return hr.same_process(pid, create_time) is None


def record_for(harness_pid: int, harness_ct: float, children: list[tuple[int, float]],
               run_id: str = "soak-test-run") -> dict:
    return {"version": 1, "harness_id": f"{harness_pid}-{int(harness_ct * 1000)}",
            "harness": {"pid": harness_pid, "create_time": harness_ct, "start_s": harness_ct,
                        "cmdline": ["pytest", "suites/soak"]},
            "watcher": None, "runs": [{"run_id": run_id, "run_dir": "/nowhere"}],
            "processes": [{"pid": p, "create_time": ct, "start_s": ct, "what": "sleeper",
                           "group_leader": False} for p, ct in children]}


def end(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def test_a_dead_harness_record_is_swept_by_pid_and_start_time_a_live_one_is_left(tmp_path):
    directory = tmp_path / "sessions"
    dead_harness = sleeper()
    dead_ct = started(dead_harness.pid)
    end(dead_harness)                                      # the harness died (SIGKILL)
    orphan, reused, neighbour_harness, neighbour_child = (sleeper() for _ in range(4))
    try:
        # `reused` stands for a pid reused by somebody else: same pid, another start time
        dead = record_for(dead_harness.pid, dead_ct, [
            (orphan.pid, started(orphan.pid)), (reused.pid, started(reused.pid) - 5)])
        live = record_for(neighbour_harness.pid, started(neighbour_harness.pid),
                          [(neighbour_child.pid, started(neighbour_child.pid))], "soak-peer")
        # the pid of a live process, but not the harness that wrote the record: dead too
        imposter = record_for(neighbour_harness.pid, started(neighbour_harness.pid) - 60, [])
        for doc in (dead, live, imposter):
            write_json_atomic(directory / f"{doc['harness_id']}.json", doc)
        reports = hr.sweep_dead(directory)
        by_id = {r["harness_id"]: r for r in reports}
        assert set(by_id) == {dead["harness_id"], imposter["harness_id"]}
        assert [e["pid"] for e in by_id[dead["harness_id"]]["ended"]] == [orphan.pid]
        assert by_id[dead["harness_id"]]["ended_by"] == "this session"
        assert orphan.wait(5) is not None                 # ended...
        assert reused.poll() is None                      # ...never a reused pid
        assert neighbour_harness.poll() is None and neighbour_child.poll() is None
        assert sorted(p.name for p in directory.iterdir()) == [f"{live['harness_id']}.json"]
        line = hr.summary_line(by_id[dead["harness_id"]])
        assert f"pid {dead_harness.pid}" in line and "soak-test-run" in line
        assert f"this session ended 1 of its processes: sleeper[{orphan.pid}]" in line
    finally:
        end(orphan, reused, neighbour_harness, neighbour_child)


def test_a_record_is_swept_once_whoever_claims_it_first(tmp_path):
    directory = tmp_path / "sessions"
    gone_harness = sleeper()
    doc = record_for(gone_harness.pid, started(gone_harness.pid), [])
    end(gone_harness)
    path = directory / f"{doc['harness_id']}.json"
    write_json_atomic(path, doc)
    assert hr.claim(path) is not None                      # a peer took it
    assert hr.sweep_dead(directory) == []                  # its claimer (us) is alive


def _fake_harness(directory: Path, how: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", FAKE_HARNESS, str(directory), how],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    info = json.loads(proc.stdout.readline())
    return proc, info


def _group_child(leader_pid: int) -> psutil.Process:
    assert wait_for(lambda: psutil.Process(leader_pid).children(), 10)
    return psutil.Process(leader_pid).children()[0]


def test_the_watcher_ends_everything_when_its_harness_is_sigkilled(tmp_path):
    directory = tmp_path / "sessions"
    harness, info = _fake_harness(directory, "die")
    leader, marked = psutil.Process(info["leader"]), psutil.Process(info["marked"])
    child = _group_child(leader.pid)
    watcher = psutil.Process(info["watcher"])
    victims = [leader, marked, child]
    try:
        time.sleep(1.2)                             # one descendant scan of the watcher
        t0 = time.monotonic()
        harness.kill()                              # SIGKILL: no teardown, no atexit
        harness.wait(5)
        assert wait_for(lambda: not any(hr.alive(p) for p in victims + [watcher]), 15)
        elapsed = time.monotonic() - t0
        [report] = [json.loads(p.read_text()) for p in directory.glob("*.ended.json")]
        assert report["ended_by"] == "watcher"
        assert {e["pid"] for e in report["ended"]} == {p.pid for p in victims}
        assert not list(directory.glob("*claimed*")) and \
            not [p for p in directory.glob("*.json") if ".ended" not in p.name]
        # the next session passes the watcher's report on, once
        [passed_on] = hr.sweep_dead(directory)
        assert passed_on == report and list(directory.glob("*.json")) == []
        assert "its watcher ended 3 of its processes" in hr.summary_line(passed_on)
        print(f"nothing of the harness left {elapsed:.2f} s after its SIGKILL")
        assert elapsed < 10
    finally:
        for proc in victims + [watcher]:
            if hr.alive(proc):
                proc.kill()


def test_the_watcher_exits_when_its_harness_ends_cleanly(tmp_path):
    directory = tmp_path / "sessions"
    harness, info = _fake_harness(directory, "clean")
    watcher = psutil.Process(info["watcher"])
    leftovers = [psutil.Process(info["leader"]), psutil.Process(info["marked"])]
    try:
        assert harness.wait(10) == 0
        assert wait_for(lambda: not hr.alive(watcher), 5)
        assert all(hr.alive(p) for p in leftovers)        # a clean end is not the watcher's
        assert list(directory.glob("*.json")) == []
    finally:
        for proc in leftovers + _group_leftovers(leftovers[0]):
            if hr.alive(proc):
                proc.kill()


def _group_leftovers(leader: psutil.Process) -> list[psutil.Process]:
    try:
        return leader.children()
    except psutil.Error:
        return []


@pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")
def test_a_group_member_started_before_its_recorded_leader_is_not_taken(tmp_path):
    """A group id names a dead run's group only for processes started after its leader."""
    leader = sleeper()
    try:
        doc = record_for(leader.pid, 0.0, [])
        doc["processes"] = [{"pid": leader.pid, "start_s": started(leader.pid) + 30,
                             "what": "leader", "group_leader": True}]
        assert hr.processes_of(doc) == []                   # a live leader of another start
        doc["processes"][0]["start_s"] = started(leader.pid)
        assert [p.pid for p in hr.processes_of(doc)] == [leader.pid]
    finally:
        end(leader)


def test_a_wall_clock_step_never_makes_a_live_harness_dead() -> None:
    """A LIVE soak's watcher ended its own live run twice: after a clock adjustment (1 s) and
    after a 13 s freeze of the machine, psutil's create_time of the live harness had moved by
    the step (it adds /proc/stat's btime, re-derived from the wall clock). The identity is
    start_s: seconds since boot on Linux, which no step moves; a start 5 s off is another
    process."""
    me = psutil.Process()
    mine = start_s(me)
    if sys.platform.startswith("linux"):
        # what a step does to create_time does nothing to start_s: it is the jiffies count
        with open(f"/proc/{me.pid}/stat", encoding="ascii") as stat:
            jiffies = int(stat.read().rsplit(")", 1)[1].split()[19])
        assert mine == pytest.approx(jiffies / os.sysconf("SC_CLK_TCK"), abs=0.01)
    for shift in (-1.0, 1.0):
        assert hr.harness_alive({"harness": {"pid": me.pid, "start_s": mine + shift}})
    assert not hr.harness_alive({"harness": {"pid": me.pid, "start_s": mine - 5}})
    # a record without start_s (an older version's) is never judged dead while its pid lives
    assert hr.harness_alive({"harness": {"pid": me.pid, "create_time": 0.0}})
