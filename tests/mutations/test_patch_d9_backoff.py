"""The D9 backoff patches really change the supervisor when a pipeline process imports it
(through sitecustomize.py, as in a behavioural soak), and leave it alone otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .soaks import PATCH_DIR, REPO

PROBE = """
import json, time
from orchestrator.restart import RestartPolicy, RestartTracker
from orchestrator.supervisor import Supervisor
policy = RestartPolicy(0.2, 2.0, 10, 5, 5, 120)
tracker = RestartTracker(policy)
delays = [tracker.on_failure(time.monotonic(), up) for up in (10.0, 1.0, 10.0)]

class Stage:
    name = "signal"
    restart_due = None
    restarts = []
    tracker = RestartTracker(policy)
    def record_exit(self, reason):
        return {"uptime_s": 10.0}

class Sup:
    log = type("L", (), {"warning": lambda *a: None, "error": lambda *a: None})()
    write_orchestrator_json = write_run_manifest = lambda self: None

sp = Stage()
before = time.monotonic()
Supervisor._on_failure(Sup(), sp, "exited")
print(json.dumps({"delays": delays, "due_in_s": sp.restart_due - before,
                  "booked": sp.restarts[-1]["delay_s"]}))
"""


def _probe(patches: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PATCH_DIR), str(REPO)]))
    env.pop("SOAK_TEST_PATCHES", None)
    if patches:
        env["SOAK_TEST_PATCHES"] = patches
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_intact_supervisor_resets_and_waits_the_delay() -> None:
    got = _probe(None)
    assert got["delays"] == [0.2, 0.4, 0.2]
    assert got["booked"] == 0.2 and got["due_in_s"] >= 0.19


def test_the_patched_supervisor_never_resets_and_restarts_at_once() -> None:
    got = _probe("supervisor restarts at once,backoff never resets")
    assert got["delays"] == [0.2, 0.4, 0.8]
    assert got["booked"] == 0.2 and got["due_in_s"] < 0.05
