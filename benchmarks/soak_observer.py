"""Cost of the soak harness's own eyes: one psutil sample of a pipeline-sized process tree,
one health poll, and whether the harness's memory stays flat over many samples.

    python benchmarks/soak_observer.py

Prints one JSON line per figure (medians of repeated measurements):
- observer_sample_ms: psutil RSS + open files of a root with 6 children (bar: 20 ms, so a
  sample every 1/3 s at 30x costs < 6 % of a core)
- observer_pid_scan_ms: finding the stage pids of the tree (done every 100 ms; bar 5 ms)
- health_poll_ms: one GET of a loopback health endpoint, parsed (bar 20 ms)
- harness_rss_growth_mb_per_10k_samples: the observer's memory growth (bar 5 MB: bounded)
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import requests

from pytest_soak.health import poll_health
from pytest_soak.observer import Observer
from pytest_soak.resources import ProcessTree, sample_process

CHILD = ("import subprocess, sys, time\n"
         "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
         "'stage_main', n]) for n in ('harvest', 'signal', 'broker', 'report', 'x', 'y')]\n"
         "time.sleep(600)\n")


def emit(metric: str, value: float, unit: str, bar: float) -> None:
    print(json.dumps({"metric": metric, "value": round(value, 3), "unit": unit, "bar": bar}),
          flush=True)


def health_server() -> ThreadingHTTPServer:
    body = json.dumps({"stages": {n: {"state": "healthy", "pid": 1}
                                  for n in ("harvest", "signal", "broker", "report")}}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    root = subprocess.Popen([sys.executable, "-c", CHILD])
    server = health_server()
    try:
        time.sleep(1.0)
        tree = ProcessTree(root.pid, r"stage_main',?\s*'?(?P<stage>\w+)")
        procs = tree.processes()
        sample_ms, scan_ms, poll_ms = [], [], []
        for _ in range(200):
            t0 = time.perf_counter()
            for stage, proc in procs:
                sample_process(stage, proc)
            sample_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            tree.stage_pids()
            scan_ms.append((time.perf_counter() - t0) * 1000)
        url = f"http://127.0.0.1:{server.server_port}/health"
        with requests.Session() as http:
            for _ in range(200):
                t0 = time.perf_counter()
                poll_health(http, url, 0)
                poll_ms.append((time.perf_counter() - t0) * 1000)
        emit("observer_sample_ms", statistics.median(sample_ms), "ms", 20.0)
        emit("observer_pid_scan_ms", statistics.median(scan_ms), "ms", 5.0)
        emit("health_poll_ms", statistics.median(poll_ms), "ms", 20.0)
        with tempfile.TemporaryDirectory() as tmp:
            obs = Observer(Path(tmp), tree, ["harvest", "signal"], health_url=lambda: url,
                           market_s=lambda: 0.0, health_interval_s=10, speed=30,
                           sample_interval_s=1)
            obs.counting = True
            me = psutil.Process()
            for _ in range(500):                  # warm up allocator and caches
                obs.sample_once()
            before = me.memory_info().rss
            for _ in range(10_000):
                obs.sample_once()
            growth_mb = (me.memory_info().rss - before) / (1024 * 1024)
            obs.stop()
        emit("harness_rss_growth_mb_per_10k_samples", growth_mb, "MB", 5.0)
    finally:
        server.shutdown()
        for proc in psutil.Process(root.pid).children(recursive=True) + [psutil.Process(root.pid)]:
            proc.kill()
        root.wait(10)


if __name__ == "__main__":
    main()
