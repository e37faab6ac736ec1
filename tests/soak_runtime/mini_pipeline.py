"""A tiny pipeline honouring the soak contract, for the harness's own tests (real processes).

    python mini_pipeline.py --run-dir DIR --stages a,b,c [--no-restart] [--ignore-sigint]
    python mini_pipeline.py stage_main NAME      # a stage: sleeps until SIGINT/SIGTERM

The root serves GET /health ({"stages": {name: {"state": "healthy"|"starting", "pid"}}}),
writes orchestrator.json with its health_url, restarts a stage that dies (unless
--no-restart), and on SIGINT stops the stages one by one in the order given, then exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def stage_main(name: str) -> int:
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    if os.environ.get("MINI_SPAWN_ORPHAN") == name:
        # a grandchild in its own session that outlives us: what the orphan sweep must find
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True, stdout=subprocess.DEVNULL)
    blob = bytearray(2 * 1024 * 1024)            # some RSS to measure
    while not stop:
        time.sleep(0.02)
    time.sleep(0.15)                              # "flushing"
    return len(blob) * 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "stage_main":
        return stage_main(sys.argv[2])
    p = argparse.ArgumentParser()
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--stages", default="a,b")
    p.add_argument("--no-restart", action="store_true")
    p.add_argument("--ignore-sigint", action="store_true")
    args = p.parse_args()
    names = args.stages.split(",")
    procs: dict[str, subprocess.Popen] = {}
    started: dict[str, float] = {}
    lock = threading.Lock()

    def spawn(name: str) -> None:
        procs[name] = subprocess.Popen([sys.executable, __file__, "stage_main", name])
        started[name] = time.monotonic()

    def state(name: str) -> dict:
        proc = procs.get(name)
        if proc is None or proc.poll() is not None:
            return {"state": "unhealthy", "pid": None}
        ready = time.monotonic() - started[name] > 0.2
        return {"state": "healthy" if ready else "starting", "pid": proc.pid}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            with lock:
                body = json.dumps({"stages": {n: state(n) for n in names}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a) -> None:  # noqa: ANN002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with lock:
        for name in names:
            spawn(name)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    (args.run_dir / "orchestrator.json").write_text(json.dumps(
        {"pid": os.getpid(), "health_url": f"http://127.0.0.1:{server.server_port}/health"}))
    stop = []
    if args.ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.05)
        with lock:
            for name in names:
                if procs[name].poll() is not None and not args.no_restart:
                    spawn(name)
    for name in names:                           # the configured order
        procs[name].send_signal(signal.SIGINT)
        procs[name].wait(10)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
