"""Restart benchmark: start the whole pipeline (default supervisor settings, a silent loopback
feed), then SIGKILL a stage five times (rotating over the stages, so each restart uses the
policy's first delay as a single crash mid-run would) and time kill -> stage healthy again.

    python benchmarks/restart.py

Prints JSON lines: restart_median_s (bar 2.0 s; the seed took 12 s), restart_max_s,
startup_all_healthy_s."""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.config import defaults
from tests.orchestrator.orch_support import Pipeline, SilentFeed, wait_for, write_config

KILLS = ["signal", "broker", "report", "harvest", "signal"]
RESTART_BAR_S = 2.0


def emit(metric: str, value: float, unit: str = "s", bar: float | None = None) -> None:
    print(json.dumps({"metric": metric, "value": round(value, 3), "unit": unit, "bar": bar}),
          flush=True)


def time_restart(pipe: Pipeline, name: str) -> float:
    old = pipe.stage_pid(name)
    killed = time.monotonic()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (pipe.stage_pid(name) or old) != old, 30, f"{name} new pid", every_s=0.02)
    wait_for(lambda: pipe.stage_state(name) == "healthy", 30, f"{name} healthy", every_s=0.02)
    return time.monotonic() - killed


def main() -> int:
    supervisor = defaults()["supervisor"]
    feed = SilentFeed().start()
    with tempfile.TemporaryDirectory(prefix="bench_restart_") as tmp:
        config = write_config(Path(tmp) / "config.yaml", supervisor=supervisor,
                              feed=feed.feed_section())
        pipe = Pipeline(Path(tmp) / "run", config, {**os.environ, "V13_REPLAY_MODE": "1"})
        try:
            started = time.monotonic()
            pipe.start()
            pipe.wait_all_healthy(60)
            emit("startup_all_healthy_s", time.monotonic() - started)
            times = [time_restart(pipe, name) for name in KILLS]
            emit("restart_median_s", statistics.median(times), bar=RESTART_BAR_S)
            emit("restart_max_s", max(times))
            pipe.send(signal.SIGINT)
            pipe.wait(60)
        finally:
            pipe.cleanup()
            feed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
