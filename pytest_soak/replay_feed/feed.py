"""`ReplayFeed`: the whole fake exchange as a plain Python object (start/stop/urls/control).

    feed = ReplayFeed(generate_seed=7, speed="max").start()
    feed.urls   # {"ws_base": "ws://127.0.0.1:PORT", "rest_base": "http://127.0.0.1:PORT2",
                #  "control_base": "http://127.0.0.1:PORT2/control"}
    feed.control("gap", symbol="BTCUSDT", skip=5)
    feed.stop()

The event loop (WebSocket server + producer) runs on a background thread; REST and control
share a threaded HTTP server. Use it from pytest fixtures or `python -m pytest_soak.replay_feed`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from websockets.asyncio.server import serve

from pytest_soak.replay_feed.engine import FeedEngine
from pytest_soak.replay_feed.faults import FaultController
from pytest_soak.replay_feed.generator import DEFAULT_REGIME, DEFAULT_SYMBOLS
from pytest_soak.replay_feed.http_api import FeedHttpServer
from pytest_soak.replay_feed.market import DEFAULT_PROFILE
from pytest_soak.replay_feed.sent_log import SentLog
from pytest_soak.replay_feed.sources import GeneratorSource, RecordingSource
from pytest_soak.replay_feed.wsserver import WsFrontend


def parse_speed(speed: str | float | None) -> float | None:
    """'max' -> None (unpaced); '1', 60, '10x' -> a float > 0."""
    if speed is None or str(speed).lower() == "max":
        return None
    value = float(str(speed).lower().rstrip("x"))
    if value <= 0:
        raise ValueError(f"speed must be 'max' or a number > 0, not {speed!r}")
    return value


class ReplayFeed:
    """The feed as a Python object; its parameter defaults are also the CLI's."""

    def __init__(self, recording: Path | str | None = None, generate_seed: int | None = None,
                 symbols: int = DEFAULT_SYMBOLS, minutes: float | None = None,
                 regime: str = DEFAULT_REGIME,
                 schedule: str | None = None, speed: str | float | None = "1",
                 host: str = "127.0.0.1", port: int = 0, http_port: int = 0,
                 ping_interval_s: float = 180.0, ping_timeout_s: float = 600.0,
                 start_on: str = "subscribe", start_grace_s: float = 2.0,
                 loop: bool = False, live: bool = False,
                 sent_log: Path | str | None = None,
                 profile: str = DEFAULT_PROFILE) -> None:
        if (recording is None) == (generate_seed is None):
            raise ValueError("give exactly one of recording=FILE or generate_seed=SEED")
        if start_on not in ("subscribe", "now", "control"):
            raise ValueError("start_on must be subscribe, now or control")
        # loop: replay the recording endlessly, each loop continuing the last (looping.py)
        self.source = (RecordingSource(recording, None if loop else 1)
                       if recording is not None else
                       GeneratorSource(generate_seed, symbols, regime, schedule, minutes,
                                       profile))
        self.speed = parse_speed(speed)
        self.live = live                  # stamps never ahead of the wall clock (clock.py)
        # when each aggTrade was sent, written there at the stop (sent_log.py)
        self.sent_log = Path(sent_log) if sent_log is not None else None
        self.host, self.port, self.http_port = host, port, http_port
        self.ping_interval_s, self.ping_timeout_s = ping_interval_s, ping_timeout_s
        self.start_on, self.start_grace_s = start_on, start_grace_s
        self.urls: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> ReplayFeed:
        self._thread = threading.Thread(target=self._run_thread, name="replay-feed", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the replay feed did not start in time")
        if self._error:
            raise RuntimeError(f"the replay feed failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._loop and self._stop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout_s)

    def __enter__(self) -> ReplayFeed:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def control(self, fault: str, action: str = "start", **params: Any) -> dict:
        """The control API without HTTP (same records as POST /control/<fault>[/end])."""
        async def call() -> dict:
            return self.faults.handle(fault, action, params)
        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    def wait_finished(self, timeout_s: float) -> bool:
        """True once a finite source has been delivered completely."""
        import time
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.engine.finished:
                return True
            time.sleep(0.05)
        return False

    # ---- the loop thread ------------------------------------------------------------------
    def _run_thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:           # reported to start(); never silently lost
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.engine = FeedEngine(self.source, self.speed, self.start_on, self.start_grace_s,
                                 self.live)
        if self.sent_log is not None:
            self.engine.sent_log = SentLog()
        self.faults = FaultController(self.engine)
        front = WsFrontend(self.engine, self.faults)
        async with serve(front.handle, self.host, self.port, process_request=front.process_request,
                         ping_interval=self.ping_interval_s, ping_timeout=self.ping_timeout_s,
                         max_size=2**20, compression=None) as server:
            ws_port = server.sockets[0].getsockname()[1]
            http = FeedHttpServer((self.host, self.http_port), self.engine, self.faults, self._loop)
            http_thread = threading.Thread(target=http.serve_forever, name="replay-feed-http",
                                           daemon=True)
            http_thread.start()
            http_port = http.server_address[1]
            self.urls = {"ws_base": f"ws://{self.host}:{ws_port}",
                         "rest_base": f"http://{self.host}:{http_port}",
                         "control_base": f"http://{self.host}:{http_port}/control"}
            producer = asyncio.ensure_future(self.engine.run())
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                self.engine.stopping = True
                producer.cancel()
                http.shutdown()
                http.server_close()
                if self.sent_log is not None:
                    self.engine.sent_log.write(self.sent_log)
