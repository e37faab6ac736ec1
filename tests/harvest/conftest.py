"""A rig: replay feed -> Harvester (real WebSocket + REST) -> real HandoffWriter in tmp_path.

A drainer thread plays the stage's step() loop; `rig.hold_drain` stops it (so the bounded
queue can be overfilled on purpose).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.settings import HarvestSettings
from pytest_soak.replay_feed import ReplayFeed

FAST = {"substream_silence_s": 1.0, "connection_silence_s": 5.0, "backoff_initial_s": 0.05,
        "backoff_max_s": 0.3, "snapshot_retry_s": 0.1, "ping_interval_s": 5.0}


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")


class Rig:
    def __init__(self, tmp: Path, feed: ReplayFeed, harvest: dict, feed_cfg: dict) -> None:
        self.feed = feed
        config = {"run": {"symbols": ["BTCUSDT", "ETHUSDT"]},
                  "feed": {"ws_base_url": feed.urls["ws_base"],
                           "rest_base_url": feed.urls["rest_base"], **feed_cfg},
                  "harvest": {**FAST, **harvest}}
        self.topic = tmp / "handoff" / "market"
        self.writer = HandoffWriter(self.topic)
        self.harvester = Harvester(HarvestSettings.from_config(config), self.writer,
                                   logging.getLogger("test.harvest"))
        self.hold_drain = False
        self._stop = False
        self._drainer = threading.Thread(target=self._drain_loop, daemon=True)

    def start(self) -> Rig:
        self.harvester.start()
        self._drainer.start()
        wait_for(lambda: all(b.synced for b in self.harvester.books.values()), 15, "book sync")
        return self

    def _drain_loop(self) -> None:
        while not self._stop:
            moved = 0 if self.hold_drain else self.harvester.drain(5000)
            if not moved:
                time.sleep(0.005)

    def count(self, name: str) -> int:
        return self.harvester.counts()[name]

    def stop(self) -> None:
        self.harvester.stop()
        self._stop = True
        self._drainer.join(5)
        self.harvester.drain(10**9)
        self.writer.close()

    def handoff_records(self) -> list[dict]:
        out = []
        for segment in sorted(self.topic.glob("*.jsonl")):
            out.extend(json.loads(line) for line in segment.read_text().splitlines())
        return out


@pytest.fixture
def rig(tmp_path):
    made: list[tuple[Rig, ReplayFeed]] = []

    def make(feed_kwargs: dict | None = None, harvest: dict | None = None,
             feed_cfg: dict | None = None) -> Rig:
        kwargs = {"generate_seed": 21, "speed": 5, **(feed_kwargs or {})}
        feed = ReplayFeed(**kwargs).start()
        made.append((None, feed))
        r = Rig(tmp_path / f"r{len(made)}", feed, harvest or {}, feed_cfg or {})
        made[-1] = (r, feed)
        return r.start()

    yield make
    for r, feed in made:
        if r is not None:
            r.stop()
        feed.stop()
