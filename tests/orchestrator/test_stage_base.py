"""The Stage base on a real process: every stop source leads to flush(), close(), a final
'stopped' status and exit 0; a failing step flushes too and exits 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.orchestrator.orch_support import REPO, read_json, wait_for

STAGE = """
import logging, sys
from pathlib import Path
from orchestrator.stage import Stage, StageContext

class Probe(Stage):
    name = "probe"
    steps = 0
    def step(self):
        self.steps += 1
        if self.ctx.config.get("fail_after") and self.steps > self.ctx.config["fail_after"]:
            raise RuntimeError("boom")
        return False
    def flush(self):
        (self.ctx.run_dir / "flushed").write_text(str(self.steps))
    def close(self):
        (self.ctx.run_dir / "closed").write_text("1")
    def metrics(self):
        return {"steps": self.steps}
    def manifest_sections(self):
        return {"probe_section": {"steps": self.steps}}

run_dir = Path(sys.argv[1])
config = {"supervisor": {"heartbeat_interval_s": 0.05}, "fail_after": int(sys.argv[3])}
ctx = StageContext(name="probe", run_dir=run_dir, run_id="t", config=config, sink="jsonl",
                   replay_mode=True, supervisor_pid=int(sys.argv[2]) or None,
                   log=logging.getLogger("probe"))
sys.exit(Probe(ctx).run())
"""


def start_probe(run_dir: Path, parent_pid: int = 0, fail_after: int = 0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", STAGE, str(run_dir), str(parent_pid),
                             str(fail_after)], cwd=REPO)


def status(run_dir: Path) -> dict:
    return read_json(run_dir / "status" / "probe.json") or {}


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def assert_clean_stop(run_dir: Path, proc: subprocess.Popen, code: int = 0) -> None:
    assert proc.wait(10) == code
    assert (run_dir / "flushed").exists() and (run_dir / "closed").exists()
    final = status(run_dir)
    assert final["state"] == "stopped" and final["ready"] is False
    assert final["pid"] == proc.pid


def test_heartbeat_status_file_then_sigterm(tmp_path: Path, procs) -> None:
    proc = start_probe(tmp_path)
    procs.append(proc)
    first = wait_for(lambda: status(tmp_path).get("ready") and status(tmp_path), 10, "ready")
    time.sleep(0.3)
    later = status(tmp_path)
    assert later["heartbeat_ms"] > first["heartbeat_ms"]
    assert set(later) == {"stage", "pid", "state", "ready", "started_ms", "heartbeat_ms",
                          "last_event_ms", "last_event_wall_ms", "metrics", "manifest"}
    assert later["metrics"]["steps"] > 0 and "probe_section" in later["manifest"]
    proc.send_signal(signal.SIGTERM)
    assert_clean_stop(tmp_path, proc)


def test_stop_file(tmp_path: Path, procs) -> None:
    proc = start_probe(tmp_path)
    procs.append(proc)
    wait_for(lambda: status(tmp_path).get("ready"), 10, "ready")
    (tmp_path / "control").mkdir(exist_ok=True)
    (tmp_path / "control" / "probe.stop").touch()
    assert_clean_stop(tmp_path, proc)


def test_parent_gone(tmp_path: Path, procs) -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    procs.append(parent)
    proc = start_probe(tmp_path, parent_pid=parent.pid)
    procs.append(proc)
    wait_for(lambda: status(tmp_path).get("ready"), 10, "ready")
    parent.kill()
    parent.wait(10)
    assert_clean_stop(tmp_path, proc)


def test_failing_step_flushes_and_exits_1(tmp_path: Path, procs) -> None:
    proc = start_probe(tmp_path, fail_after=20)
    procs.append(proc)
    assert_clean_stop(tmp_path, proc, code=1)
    assert json.loads((tmp_path / "flushed").read_text()) > 20


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery to a child")
def test_sigint(tmp_path: Path, procs) -> None:
    proc = start_probe(tmp_path)
    procs.append(proc)
    wait_for(lambda: status(tmp_path).get("ready"), 10, "ready")
    proc.send_signal(signal.SIGINT)
    assert_clean_stop(tmp_path, proc)
