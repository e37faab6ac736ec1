"""The harness believes a healthy stage only with its pid checked live (pytest_soak/health.py):
real processes under this test process as the pipeline's root, named by the default
stage_regex, checked by psutil the way the observer checks each poll."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pytest_soak.health import HealthPoll, harness_healthy, verify_pids
from pytest_soak.resources import ProcessTree

SLEEP = "import time; time.sleep(60)"


@pytest.fixture
def stage_proc():
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", SLEEP, *args])
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _check(pid: int | None, stage: str = "alpha", healthy: bool = True) -> HealthPoll:
    poll = HealthPoll(0, True, 200, {stage: healthy}, {} if pid is None else {stage: pid})
    verify_pids(poll, ProcessTree(os.getpid()), [stage])
    return poll


def _wait_named(pid: int, stage: str) -> None:
    tree = ProcessTree(os.getpid())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pid in [p.pid for name, p in tree.processes() if name == stage]:
            return
        time.sleep(0.02)
    raise AssertionError(f"{pid} never seen as {stage}")


def test_a_live_stage_process_named_by_the_body_is_healthy(stage_proc) -> None:
    proc = stage_proc("stage_main", "alpha")
    _wait_named(proc.pid, "alpha")
    poll = _check(proc.pid)
    assert poll.pid_check == {"alpha": "ok"} and poll.healthy("alpha")
    assert harness_healthy(poll.record(), "alpha")
    assert not _check(proc.pid, healthy=False).healthy("alpha")    # the body's "no" stands


def test_a_zombie_or_a_dead_pid_is_not_healthy(stage_proc) -> None:
    proc = stage_proc("stage_main", "alpha")
    _wait_named(proc.pid, "alpha")
    proc.kill()
    if os.name == "posix":                   # not reaped yet: a zombie of this process
        time.sleep(0.3)
        poll = _check(proc.pid)
        assert poll.pid_check["alpha"] == "a zombie" and not poll.healthy("alpha")
    proc.wait()
    poll = _check(proc.pid)
    assert poll.pid_check["alpha"] == "gone" and not poll.healthy("alpha")


def test_a_pid_that_is_not_this_stages_process_is_not_healthy(stage_proc) -> None:
    beta = stage_proc("stage_main", "beta")
    other = stage_proc("helper")
    _wait_named(beta.pid, "beta")
    assert _check(beta.pid).pid_check["alpha"] == "a beta process"
    assert _check(other.pid).pid_check["alpha"] == "not a stage process"
    assert _check(os.getpid()).pid_check["alpha"] == "the supervisor itself"
    assert _check(os.getppid()).pid_check["alpha"] == "not a process of the pipeline"
    poll = _check(None)
    assert poll.pid_check["alpha"] == "the body names no pid" and not poll.healthy("alpha")


def test_a_recorded_poll_without_the_harness_pid_view_is_not_healthy() -> None:
    assert not harness_healthy({"ok": True, "stages": {"a": True}, "pids": {"a": 5}}, "a")
    assert harness_healthy({"ok": True, "stages": {"a": True}, "pids": {"a": 5},
                            "live_pids": {"a": [5]}}, "a")
    assert not harness_healthy({"ok": False, "stages": {"a": True}, "pids": {"a": 5},
                                "live_pids": {"a": [5]}}, "a")
