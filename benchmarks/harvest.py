"""Harvest throughput: replay feed (max speed, its own process) -> Harvester -> handoff.

Prints JSON lines: harvest_events_per_s (median of runs, bar 30 000) and
harvest_rss_growth_mb (RSS growth of the harvest process over the second half of the
run: flat memory means a bounded queue and no leaks). Run from the repo root:
    python benchmarks/harvest.py [--minutes 30] [--runs 3]
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.settings import HarvestSettings
from pytest_soak.replay_feed import generate_recording
from pytest_soak.replay_feed.market import DEFAULT_PROFILE, PROFILES

ROOT = _bootstrap.REPO


def start_feed(recording: Path, workdir: Path) -> tuple[subprocess.Popen, dict]:
    out = open(workdir / "feed.out", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "pytest_soak.replay_feed", "--recording",
                             str(recording), "--speed", "max", "--start-grace-s", "30"],
                            stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out.seek(0)
        first = out.readline()
        if first.startswith("{"):
            return proc, json.loads(first)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the replay feed did not print its URLs")


def one_run(recording: Path, expected: int, workdir: Path
            ) -> tuple[float, float, float, float]:
    proc, urls = start_feed(recording, workdir)
    feed_proc = psutil.Process(proc.pid)
    writer = HandoffWriter(workdir / f"handoff_{time.time_ns()}", fsync_every=5000)
    config = {"run": {"symbols": ["BTCUSDT", "ETHUSDT"]},
              "feed": {"ws_base_url": urls["ws_base"], "rest_base_url": urls["rest_base"]},
              "harvest": {"queue_max": 50_000}}
    harvester = Harvester(HarvestSettings.from_config(config), writer, logging.getLogger("b"))
    me = psutil.Process()
    rss: list[float] = []
    try:
        harvester.start()
        first = None
        while harvester.counts()["events_in"] < expected and (first is None or
                                                               time.monotonic() - first < 300):
            if harvester.drain(5000) == 0:
                time.sleep(0.001)
            if first is None and harvester.events_out:
                first = time.monotonic()
                first_out = harvester.events_out
                cpu0 = sum(me.cpu_times()[:2])
                feed_cpu0 = sum(feed_proc.cpu_times()[:2])
            if first is not None and len(rss) < 1000 and int(time.monotonic() * 4) % 2 == 0:
                rss.append(me.memory_info().rss / 2**20)
        while harvester.drain(5000):
            pass
        elapsed = time.monotonic() - first
        rate = (harvester.events_out - first_out) / elapsed
        moved = harvester.events_out - first_out
        cpu_us = (sum(me.cpu_times()[:2]) - cpu0) / moved * 1e6
        feed_cpu_us = (sum(feed_proc.cpu_times()[:2]) - feed_cpu0) / moved * 1e6
    finally:
        harvester.stop()
        writer.close()
        proc.terminate()
        proc.wait(10)
    half = rss[len(rss) // 2:] or [0.0]
    return rate, max(half) - half[0], cpu_us, feed_cpu_us


def calibrate() -> float:
    import timeit
    frame = ('{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1767225600123,"a":1,'
             '"s":"BTCUSDT","p":"60000.1","q":"0.040","f":1,"l":1,"T":1767225600121,"m":false}}')
    return min(timeit.repeat(lambda: json.loads(frame), number=20_000, repeat=3)) / 20_000 * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0, help="market minutes replayed")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES),
                        help="the generator's market profile (docs/data-sources.md)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        recording = workdir / "bench.jsonl"
        expected = generate_recording(recording, seed=1, minutes=args.minutes,
                                      profile=args.profile)
        results = [one_run(recording, expected, workdir) for _ in range(args.runs)]
    rates = [r[0] for r in results]
    growth = [r[1] for r in results]
    cpu_us = statistics.median(r[2] for r in results)
    feed_cpu_us = statistics.median(r[3] for r in results)
    print(json.dumps({"metric": "harvest_events_per_s", "value": round(statistics.median(rates)),
                      "unit": "events/s", "bar": 30000, "runs": [round(r) for r in rates],
                      "events": expected}))
    print(json.dumps({"metric": "harvest_rss_growth_mb",
                      "value": round(statistics.median(growth), 1), "unit": "MB", "bar": 20.0}))
    print(json.dumps({"metric": "harvest_cpu_us_per_event", "value": round(cpu_us, 1),
                      "unit": "us", "bar": None,
                      "note": "harvest process CPU (reader + drain) per event handed off"}))
    print(json.dumps({"metric": "harvest_events_per_cpu_s", "value": round(1e6 / cpu_us),
                      "unit": "events/s", "bar": 30000,
                      "note": "what the harvest process sustains per second of its own CPU "
                              "(independent of how busy the shared cores are)"}))
    print(json.dumps({"metric": "feed_cpu_us_per_event", "value": round(feed_cpu_us, 1),
                      "unit": "us", "bar": None,
                      "note": "replay feed process CPU per event (the other side of the pipe)"}))
    print(json.dumps({"metric": "calibration_json_loads_us", "value": round(calibrate(), 2),
                      "unit": "us", "bar": None,
                      "note": "one aggTrade frame json.loads on this machine now (~2 us idle)"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
