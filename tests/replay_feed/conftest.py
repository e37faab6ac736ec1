"""Fixtures: a replay feed per test (stopped by the fixture), and a WebSocket helper."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from pytest_soak.replay_feed import ReplayFeed

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "market" / "seed42_2min.jsonl.gz"


@pytest.fixture
def make_feed():
    feeds: list[ReplayFeed] = []

    def start(**kwargs) -> ReplayFeed:
        kwargs.setdefault("generate_seed", None if "recording" in kwargs else 1)
        feed = ReplayFeed(**kwargs).start()
        feeds.append(feed)
        return feed

    yield start
    for feed in feeds:
        feed.stop()


def collect(url: str, count: int, timeout_s: float = 10.0,
            send: list[dict] | None = None) -> list:
    """Connect, send the method requests, and return the first `count` frames (str)."""
    async def run() -> list:
        frames = []
        async with connect(url, open_timeout=5, close_timeout=0.2) as ws:
            for request in send or []:
                await ws.send(json.dumps(request))
            while len(frames) < count:
                frames.append(await asyncio.wait_for(ws.recv(), timeout_s))
        return frames
    return asyncio.run(run())
