"""Issue 14 part 1, end to end: one recording, served once by the replay feed to two real
harvesters whose connections interleave differently (one harvester's /public connection goes
through a relay that delays it) and whose REST snapshots are taken at different moments (its
REST goes through a delaying proxy), with an update-id gap that makes both resync; each
handoff is then run through the real signal stage (a process), and the two sinks are equal,
row for row. The same two handoffs consumed in arrival order give different rows: the
interleavings really differ, and the reorder buffer and the depth settle rule are what make the
signals a function of the market."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from pytest_soak.replay_feed import ReplayFeed, read_recording
from pytest_soak_evidence.sinks import read_jsonl_signals, read_sqlite_signals
from tests.harvest.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
RECORDING = REPO / "fixtures" / "market" / "seed42_2min.jsonl.gz"
SPEED = 10
PUBLIC_DELAY_S = 0.04        # 400 event-time ms at 10x: depth and quotes arrive after trades
REST_DELAY_S = 0.06          # that harvester's snapshots are 600 event-time ms younger
SIGNAL = {"reorder_lateness_ms": 1500, "depth_settle_ms": 3000}


class DelayRelay:
    """A loopback WebSocket relay: frames from upstream reach the client `delay_s(path)`
    later, in order; the client's own messages (SUBSCRIBE...) go up at once."""

    def __init__(self, upstream: str, delay_s) -> None:
        self.upstream, self.delay_s = upstream, delay_s
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Future | None = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve(started))

    async def _serve(self, started: threading.Event) -> None:
        self._stop = self.loop.create_future()
        async with serve(self._relay, "127.0.0.1", 0) as server:
            self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            started.set()
            await self._stop

    async def _relay(self, client) -> None:
        path = client.request.path
        delay = self.delay_s(path)
        async with connect(self.upstream + path, max_size=2**22) as upstream:
            queue: asyncio.Queue = asyncio.Queue()

            async def down_in() -> None:
                async for message in upstream:
                    queue.put_nowait((time.monotonic() + delay, message))

            async def down_out() -> None:
                while True:
                    due, message = await queue.get()
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    await client.send(message)

            async def up() -> None:
                async for message in client:
                    await upstream.send(message)

            tasks = [asyncio.ensure_future(t()) for t in (down_in, down_out, up)]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self.thread.join(5)


def delayed_rest(upstream: str, delay_s: float) -> ThreadingHTTPServer:
    """A loopback HTTP proxy that waits `delay_s` before asking upstream."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:          # noqa: N802
            time.sleep(delay_s)
            try:
                with urllib.request.urlopen(upstream + self.path, timeout=10) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def make_harvester(topic: Path, ws_base: str, rest_base: str) -> Harvester:
    config = {"run": {"symbols": ["BTCUSDT", "ETHUSDT"]},
              "feed": {"ws_base_url": ws_base, "rest_base_url": rest_base},
              "harvest": {"backoff_initial_s": 0.05, "backoff_max_s": 0.3,
                          "snapshot_retry_s": 0.1}}
    return Harvester(HarvestSettings.from_config(config), HandoffWriter(topic),
                     logging.getLogger("test.harvest"))


def harvest_twice(tmp_path: Path) -> list[tuple[Path, Harvester]]:
    feed = ReplayFeed(recording=RECORDING, speed=SPEED, start_on="control").start()
    relay = DelayRelay(feed.urls["ws_base"],
                       lambda path: PUBLIC_DELAY_S if path.startswith("/public") else 0.0)
    rest = delayed_rest(feed.urls["rest_base"], REST_DELAY_S)
    runs = []
    try:
        for name, ws_base, rest_base in (
                ("direct", feed.urls["ws_base"], feed.urls["rest_base"]),
                ("delayed", relay.url, f"http://127.0.0.1:{rest.server_address[1]}")):
            topic = tmp_path / name / "handoff" / "market"
            runs.append((topic, make_harvester(topic, ws_base, rest_base)))
        for _, harvester in runs:
            harvester.start()
        wait_for(lambda: sum(bool(c.streams) for c in list(feed.engine.clients.values())) == 4,
                 15, "both harvesters subscribed")
        feed.control("start")
        for symbol in ("BTCUSDT", "ETHUSDT"):       # both resync, each at its own pace
            time.sleep(3)
            feed.control("gap", symbol=symbol, skip=10)
        assert feed.wait_finished(60), "the feed did not deliver the whole recording"
        time.sleep(1.0)                               # the relay's last delayed frames
    finally:
        for _, harvester in runs:
            harvester.stop()
        relay.close()
        rest.shutdown()
        feed.stop()
    for _, harvester in runs:
        harvester.drain(10**9)
        harvester.writer.close()
    return runs


def run_signal(run_dir: Path, spawned) -> dict:
    config = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
    config["signal"].update(SIGNAL)
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = spawned([sys.executable, "-m", "orchestrator.stage_main", "signal", "--config",
                    str(path), "--run-dir", str(run_dir), "--sink", "dual", "--run-id", "e2e",
                    "--drain"], run_dir / "signal.log", cwd=REPO)
    assert proc.wait(timeout=120) == 0, (run_dir / "signal.log").read_text()[-2000:]
    status = json.loads((run_dir / "status" / "signal_finalize.json").read_text())
    return status["manifest"]["signal_metrics"]


def sink_rows(run_dir: Path) -> dict[str, dict]:
    jsonl, _ = read_jsonl_signals(run_dir / "sinks" / "signals.jsonl")
    sqlite, _ = read_sqlite_signals(run_dir / "sinks" / "signals.sqlite")
    rows = {r["row_id"]: r for r in jsonl}
    assert rows == {r["row_id"]: r for r in sqlite}
    return rows


def arrival_order_rows(topic: Path) -> dict[str, dict]:
    """What the signal engine computed before issue 14: the handoff in arrival order."""
    engine = SignalEngine(SignalConfig.from_section(SIGNAL))
    rows = {}
    for segment in sorted(topic.glob("*.jsonl")):
        for line in segment.read_text(encoding="utf-8").splitlines():
            row = engine.process(json.loads(line))
            if row is not None:
                rows[row["row_id"]] = row
    return rows


def handoff(topic: Path) -> list[dict]:
    return [json.loads(line) for segment in sorted(topic.glob("*.jsonl"))
            for line in segment.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_two_interleavings_and_snapshot_timings_give_identical_sinks(tmp_path, spawned):
    runs = harvest_twice(tmp_path)
    trades = {(r["data"]["s"], r["data"]["a"]) for r in read_recording(RECORDING)
              if r.get("stream", "").endswith("@aggTrade")}
    logs = [handoff(topic) for topic, _ in runs]
    for (_, harvester), records in zip(runs, logs, strict=True):
        assert harvester.counts()["resync_count"] >= 2, "the gaps did not force resyncs"
        assert {(r["data"]["s"], r["data"]["a"]) for r in records
                if r["data"]["e"] == "aggTrade"} == trades
    order = [[(r["stream"], r["data"]["a" if r["data"]["e"] == "aggTrade" else "u"])
              for r in records] for records in logs]
    assert order[0] != order[1], "the two interleavings are the same"
    depth = [{r["data"]["u"] for r in records if r["data"]["e"] == "depthUpdate"}
             for records in logs]
    assert depth[0] != depth[1], "both harvesters forwarded the same diffs: no timing effect"
    naive = [arrival_order_rows(topic) for topic, _ in runs]
    assert set(naive[0]) == set(naive[1])
    assert any(naive[0][k] != naive[1][k] for k in naive[0]), \
        "arrival order already gives identical rows: the test shows nothing"

    metrics = [run_signal(topic.parents[1], spawned) for topic, _ in runs]
    rows = [sink_rows(topic.parents[1]) for topic, _ in runs]
    assert len(rows[0]) == len(trades)
    assert rows[0] == rows[1]
    assert sum(r["confirm"] for r in rows[0].values()) > 0, "nothing got past the warmup"
    for section in metrics:
        order_metrics = section["event_order"]
        assert order_metrics["late_events"] == 0 and order_metrics["buffered"] == 0
        assert order_metrics["depth_breaks"] >= 2 and order_metrics["depth_slow_resyncs"] == 0
