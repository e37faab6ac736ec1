"""A real feed's sent log against the harness's sink watch: a client takes the feed's aggTrades
off a real WebSocket, holds each for DELAY_MS, then writes its row to the real JSONL and SQLite
sinks; the latency the harness measures must be that hold plus little, for every row."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from websockets.asyncio.client import connect

from orchestrator.sinks.dual import DualSink
from orchestrator.sinks.jsonl import JsonlSink
from orchestrator.sinks.sqlite import SqliteSink
from pytest_soak import latency
from pytest_soak.replay_feed.sent_log import SentLog
from pytest_soak.sink_watch import SinkWatch
from pytest_soak_evidence.schemas import violations
from pytest_soak_evidence.sinks import jsonl_path, sqlite_path
from tests.soak_checks.test_latency import row

DELAY_MS = 60
RUN_S = 2.5


async def _hold_and_write(url: str, sink: DualSink) -> int:
    """Every trade for RUN_S: written DELAY_MS after it arrived (in arrival order)."""
    held: list[tuple[float, dict]] = []
    written = 0
    async with connect(url, open_timeout=5, close_timeout=0.2) as ws:
        end = time.monotonic() + RUN_S
        while time.monotonic() < end or held:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.005))
                held.append((time.monotonic() + DELAY_MS / 1000,
                             row(frame["data"]["s"], frame["data"]["a"])))
            except TimeoutError:
                pass
            due = [r for at, r in held if at <= time.monotonic()]
            if due:
                written += sink.write_batch(due)
                held = held[len(due):]
    return written


def test_latency_is_the_hold_plus_the_path(make_feed, tmp_path: Path) -> None:
    log_path = tmp_path / "harness" / "feed_sent.bin"
    feed = make_feed(generate_seed=3, speed=4, start_on="now", sent_log=log_path)
    watch = SinkWatch(tmp_path, "dual")
    watch.start()
    sink = DualSink(JsonlSink(jsonl_path(tmp_path), fsync=True),
                    SqliteSink(sqlite_path(tmp_path), busy_timeout_ms=500, lock_retries=2,
                               retry_delay_ms=5, synchronous="NORMAL"))
    url = f"{feed.urls['ws_base']}/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"
    written = asyncio.run(_hold_and_write(url, sink))
    sink.close()
    feed.stop()
    watch.stop()
    assert len(SentLog.load(log_path)) >= written > 20
    doc = latency.write(tmp_path, "run-x", "replay", 4.0, watch, log_path)
    assert violations(doc, "signal_latency") == [] and doc["error"] is None
    for name in ("jsonl", "sqlite"):
        figures = doc["sinks"][name]
        assert figures["matched"] == figures["rows_seen"] == written, name
        assert figures["unmatched"] == 0
        # never below the hold: sent and visible are one clock, and rows match their trades
        assert figures["min_ms"] >= DELAY_MS - 1, figures
        # the path (feed queue, socket, the client's 5 ms loop, one write, a 10 ms poll)
        assert figures["p50_ms"] < DELAY_MS + 40, figures
