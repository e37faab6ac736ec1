"""Helpers that run the real supervisor (`python -m orchestrator.run`) as a child process
with a fast configuration (used by conftest.py fixtures and the lifecycle tests)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml
from websockets.asyncio.server import serve

REPO = Path(__file__).resolve().parents[2]
FAST_SUPERVISOR = {
    "heartbeat_interval_s": 0.1,
    "heartbeat_timeout_s": 1.5,
    "startup_timeout_s": 15,
    "stop_grace_s": 5,
    "tick_s": 0.02,
    "manifest_interval_s": 0.3,
    "finalize_timeout_s": 30,
    "restart": {"initial_delay_s": 0.1, "factor": 2.0, "max_delay_s": 0.4,
                "stable_after_s": 60, "max_restarts": 4, "window_s": 60},
    "resources": {"sample_interval_s": 0.3},
}


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def run_processes(run_id: str) -> list[psutil.Process]:
    """Every live process tagged with this run's orphan marker (zombies count as dead)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("SOAK_RUN_ID") == run_id:
                found.append(proc)
        except psutil.Error:
            continue
    return found


class Pipeline:
    """One supervisor run in `run_dir`."""

    def __init__(self, run_dir: Path, config_path: Path, env: dict[str, str]) -> None:
        self.run_dir = run_dir
        self.config_path = config_path
        self.env = env
        self.run_id = "test_" + uuid.uuid4().hex[:10]
        self.proc: subprocess.Popen | None = None

    def start(self, enable: str = "harvest,signal,broker,report", minutes: float = 10,
              sink: str = "jsonl") -> Pipeline:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir.parent / f"{self.run_dir.name}.supervisor.out", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.run", "--config", str(self.config_path),
                 "--run-dir", str(self.run_dir), "--enable", enable, "--sink", sink,
                 "--minutes", str(minutes), "--run-id", self.run_id, "--health-port", "0"],
                cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        return self

    def orchestrator(self) -> dict[str, Any]:
        return read_json(self.run_dir / "orchestrator.json") or {}

    def manifest(self) -> dict[str, Any]:
        return read_json(self.run_dir / "run_manifest.json") or {}

    def health(self) -> dict[str, Any]:
        url = wait_for(lambda: self.orchestrator().get("health_url"), 10, "health url")
        return requests.get(url, timeout=2).json()

    def stage_pid(self, name: str) -> int | None:
        return (self.orchestrator().get("stages", {}).get(name) or {}).get("pid")

    def wait_all_healthy(self, timeout_s: float = 30) -> dict[str, Any]:
        def healthy() -> dict[str, Any] | None:
            try:
                doc = self.health()
            except (requests.RequestException, ValueError):
                return None
            return doc if doc["state"] == "healthy" else None
        return wait_for(healthy, timeout_s, "all stages healthy", every_s=0.1)

    def stage_state(self, name: str) -> str | None:
        try:
            return self.health()["stages"][name]["state"]
        except (requests.RequestException, ValueError, KeyError):
            return None

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def cleanup(self) -> None:
        """Kill the supervisor and anything still carrying this run's marker."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for proc in run_processes(self.run_id):
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            except psutil.Error:
                pass


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_config(path: Path, supervisor: dict[str, Any] | None = None,
                 **sections: Any) -> Path:
    """defaults.yaml with a fast supervisor section (and any section replaced)."""
    config = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
    config["supervisor"] = {**FAST_SUPERVISOR, **(supervisor or {})}
    config.update(sections)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class SilentFeed:
    """A loopback WebSocket server that accepts every connection and sends nothing: harvest
    connects (so it is ready) but receives no market data. The lifecycle tests need no more."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future | None = None
        self._thread = threading.Thread(target=self._run, name="silent-feed", daemon=True)

    def start(self) -> SilentFeed:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("silent feed did not start")
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        async def handler(ws: Any) -> None:
            await ws.wait_closed()

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(handler, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)

    def feed_section(self) -> dict[str, Any]:
        config = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
        return {**(config.get("feed") or {}), "ws_base_url": f"ws://127.0.0.1:{self.port}",
                "rest_base_url": f"http://127.0.0.1:{self.port}"}
