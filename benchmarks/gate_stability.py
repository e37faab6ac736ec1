"""Gate stability: run the CI gate (`pytest suites/soak`) N times beside a background load and
count false fails (the reference pipeline is healthy, so every failed run is one).

The default load reproduces the condition the gate failed under (issue 11): a second reference
pipeline at 1x on its own replay feed, doing real I/O (handoff, sinks, outbox) in a temp
folder, started exactly as the soak harness starts one (pytest_soak.sidecars.FeedSidecar and
the reference soak config rendered by pytest_soak.pipeline_spec). `--load cpu` runs a busy
loop instead, `--load none` nothing. Each gate run gets its own --soak-run-dir under
artifacts/gate_stability/<stamp>/. Prints JSON lines: one per run (wall time, verdict, first
failing sub-check from its dod.json), then gate_false_fail_rate (bar 0.0) and
gate_wall_s_median (bar 180). Every process it started is ended, on Ctrl+C too.

    python benchmarks/gate_stability.py [--runs 10] [--load pipeline|cpu|none] [--real-rates]

`--real-rates` runs the gate at the real market's rates (issue 14: the real-rate profile,
fixtures/soak/reference_real_rates.yaml with the real_rates schedule); the bar on its median
wall time is then 150 s.
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from pytest_soak.market_source import stream_limit
from pytest_soak.pipeline_spec import base_values, load_pipeline_spec
from pytest_soak.procs import RUN_MARKER, kill_tree, popen_logged, send_stop, sweep, wait_exit
from pytest_soak.replay_feed.market import DEFAULT_PROFILE
from pytest_soak.sidecars import FeedSidecar

ROOT = _bootstrap.REPO
GATE = [sys.executable, "-m", "pytest", "suites/soak", "-q", "-p", "no:cacheprovider"]
REAL_RATES = ["--soak-config", "fixtures/soak/reference_real_rates.yaml",
              "--soak-schedule", "real_rates"]
REFERENCE = ROOT / "fixtures" / "soak" / "reference_pipeline.yaml"
LOAD_MINUTES = 24 * 60            # the load outlives any series of runs; it is stopped at the end
LOAD_SEED = 777


def _env(marker: str) -> dict[str, str]:
    """This checkout's code first (the gate and the load run what is here), tagged for a sweep."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else ""),
            RUN_MARKER: marker}


class PipelineLoad:
    """A second reference pipeline at 1x (LIVE-like: the replay flag off) on its own feed."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.marker = f"gate-stability-load-{os.getpid()}"
        self.feed = FeedSidecar(workdir, 1.0, LOAD_SEED, ["BTCUSDT", "ETHUSDT"], live=True)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.feed.start()
        spec = load_pipeline_spec(REFERENCE)
        run_dir = self.workdir / "pipeline"
        values = {**base_values(spec), "config": str(self.workdir / "pipeline_config.yaml"),
                  "run_dir": str(run_dir), "run_id": self.marker, "sink": "dual",
                  "minutes": str(LOAD_MINUTES), "pipeline_minutes": str(LOAD_MINUTES + 2),
                  "health_port": "0", "mode": "live", "speed": 1.0, "replay_flag": "0",
                  "replay_mode_bool": False, "timeseries_type": "none", "timeseries_url": None,
                  "timeseries_api": None, "timeseries_token": None,
                  "feed_ws_url": self.feed.ws_url, "feed_rest_url": self.feed.rest_url,
                  "feed_control_url": self.feed.control_url, "report_tz": "Asia/Tokyo",
                  # the load's feed is the light generator (FeedSidecar's default) at 1x
                  "market_stream_limit_per_s": stream_limit(None, DEFAULT_PROFILE)}
        config = spec.render_config(values)
        Path(values["config"]).write_text(yaml.safe_dump(config, sort_keys=False),
                                          encoding="utf-8")
        env = {**_env(self.marker), **spec.render_env(values)}
        self.proc = popen_logged(spec.render_command(values), self.workdir / "pipeline.log",
                                 env, cwd=spec.workdir)
        time.sleep(3)
        if self.proc.poll() is not None:
            raise RuntimeError(f"the load pipeline exited with {self.proc.returncode}; see "
                               f"{self.workdir / 'pipeline.log'}")

    def describe(self) -> str:
        """What it was, and what it did (its harvest's events handed off): a load that silently
        died would otherwise read as a pass under load."""
        try:
            status = json.loads((self.workdir / "pipeline" / "status" / "harvest.json")
                                .read_text(encoding="utf-8"))
            events = (status.get("metrics") or {}).get("events_out")
        except (OSError, ValueError):
            events = None
        alive = self.proc is not None and self.proc.poll() is None
        return (f"a second reference pipeline at 1x on its own feed (seed {LOAD_SEED}): "
                f"{'running' if alive else 'NOT running'}, {events} events handed off")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            send_stop(self.proc)                   # the supervisor stops its stages in order
            if wait_exit(self.proc, 30) is None:
                kill_tree(self.proc.pid)
                wait_exit(self.proc, 5)
        self.feed.stop()
        sweep(self.marker)


class CpuLoad:
    """One busy loop (a core's worth of contention on a 2-core machine)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.marker = f"gate-stability-cpu-{os.getpid()}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = popen_logged([sys.executable, "-c", "while True: pass"],
                                 self.workdir / "cpu.log", _env(self.marker))

    def describe(self) -> str:
        return "one busy-loop process"

    def stop(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc.pid)
            wait_exit(self.proc, 5)
        sweep(self.marker)


class NoLoad:
    def __init__(self, workdir: Path) -> None:
        pass

    def start(self) -> None:
        pass

    def describe(self) -> str:
        return "none"

    def stop(self) -> None:
        pass


LOADS = {"pipeline": PipelineLoad, "cpu": CpuLoad, "none": NoLoad}


def first_failure(run_dir: Path | None) -> dict[str, Any] | None:
    """The first item (D1..D12 order) not passing, and its first sub-check not passing."""
    try:
        dod = json.loads((run_dir / "dod.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return {"item": None, "reason": f"no readable dod.json in {run_dir}"}
    items = dod.get("items") or {}
    for item_id in sorted(items, key=lambda i: int(i[1:]) if i[1:].isdigit() else 99):
        item = items[item_id]
        if item.get("status") == "pass":
            continue
        parts = item.get("parts") or item.get("sub_checks") or item.get("checks") or []
        for part in parts:
            if isinstance(part, dict) and part.get("status") not in ("pass", "not_claimed"):
                return {"item": item_id, "sub_check": part.get("name"),
                        "status": part.get("status"), "reason": part.get("reason")}
        if item.get("status") != "not_claimed":
            return {"item": item_id, "sub_check": None, "status": item.get("status"),
                    "reason": item.get("reason")}
    if dod.get("verdict") != "pass":
        return {"item": None, "reason": f"verdict {dod.get('verdict')}: "
                                        f"{'; '.join(dod.get('harness_errors') or [])[:300]}"}
    return None


def gate_run(index: int, parent: Path, extra: list[str]) -> dict[str, Any]:
    soak_dir = parent / f"run_{index:02d}"
    soak_dir.mkdir(parents=True)
    marker = f"gate-stability-run-{os.getpid()}-{index}"
    started = time.monotonic()
    proc = popen_logged(GATE + extra + ["--soak-run-dir", str(soak_dir)], soak_dir / "pytest.log",
                        _env(marker), cwd=ROOT)
    try:
        code = proc.wait()
    except BaseException:
        _ignore_stops()
        send_stop(proc)                        # the session heals, stops and sweeps its run
        if wait_exit(proc, 90) is None:
            kill_tree(proc.pid)
            wait_exit(proc, 5)
        sweep(marker)
        raise
    wall_s = time.monotonic() - started
    runs = sorted(p for p in soak_dir.iterdir() if (p / "dod.json").exists())
    run_dir = runs[-1] if runs else None
    failure = None if code == 0 else (first_failure(run_dir) or {
        "item": None, "reason": f"pytest exited {code} with every item passing; see "
                                f"{soak_dir / 'pytest.log'}"})
    return {"metric": "gate_run", "run": index, "wall_s": round(wall_s, 1),
            "verdict": "pass" if code == 0 else "fail", "pytest_exit": code,
            "run_dir": str(run_dir or soak_dir), "first_failure": failure}


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _ignore_stops() -> None:
    """While ending what was started: a second Ctrl+C must not cut the clean-up short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--load", choices=sorted(LOADS), default="pipeline")
    parser.add_argument("--real-rates", action="store_true",
                        help="the gate at the real market's rates (bar: 150 s median wall)")
    args = parser.parse_args()
    extra = REAL_RATES if args.real_rates else []
    # a killed job cleans up like Ctrl+C; SIGINT too when started in the background (a
    # non-interactive shell starts background jobs with SIGINT ignored)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parent = ROOT / "artifacts" / "gate_stability" / time.strftime("%Y%m%dT%H%M%S")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gate_stability_load_") as tmp:
        load = LOADS[args.load](Path(tmp))
        try:
            load.start()
            for index in range(1, args.runs + 1):
                result = gate_run(index, parent, extra)
                results.append(result)
                print(json.dumps(result), flush=True)
        except KeyboardInterrupt:
            print(json.dumps({"metric": "interrupted", "runs_done": len(results)}), flush=True)
        finally:
            _ignore_stops()
            load_seen = load.describe()
            load.stop()
    if not results:
        return 1
    fails = sum(r["verdict"] != "pass" for r in results)
    print(json.dumps({"metric": "gate_false_fail_rate", "value": round(fails / len(results), 3),
                      "unit": "ratio", "bar": 0.0, "runs": len(results), "failed": fails,
                      "load": load_seen, "folder": str(parent)}))
    print(json.dumps({"metric": "gate_wall_s_median",
                      "value": round(statistics.median(r["wall_s"] for r in results), 1),
                      "unit": "s", "bar": 150 if args.real_rates else 180,
                      "max": max(r["wall_s"] for r in results)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
