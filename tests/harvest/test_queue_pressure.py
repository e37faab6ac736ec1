"""The harvest queue under pressure: its depth peaks with time, and the per-stream rate limit.

The burst test runs a real feed and a real handoff twice, at two speeds, with one planned
burst: harvest sheds by event time, so both runs hand on exactly the same events and shed
the same number, whatever the CPU or the speed (docs/soak-design.md).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.queue_depth import DepthPeaks
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.harvest.stage import harvester_metrics
from orchestrator.harvest.stream_limit import StreamLimit
from pytest_soak.replay_feed import ReplayFeed
from pytest_soak_evidence.schemas import violations
from tests.harvest.conftest import wait_for
from tests.harvest.test_stage import write_config


def test_depth_peaks_keep_the_highest_depth_per_bucket_and_when():
    peaks = DepthPeaks(bucket_ms=1000, buckets_max=10)
    for depth, at in [(3, 10_100), (9, 10_400), (2, 10_900), (1, 11_000), (40, 13_500)]:
        peaks.observe(depth, at)
    section = peaks.section()
    assert section["buckets"] == [[10_000, 9, 10_400], [11_000, 1, 11_000], [13_000, 40, 13_500]]
    assert (section["peak"], section["peak_ms"], section["bucket_ms"]) == (40, 13_500, 1000)


def test_depth_peaks_stay_bounded_for_a_long_run_and_keep_the_peak():
    peaks = DepthPeaks(bucket_ms=1000, buckets_max=20)
    for second in range(3600):                       # an hour, one enqueue per second
        peaks.observe(500 if second == 1234 else second % 7, second * 1000 + 1)
    section = peaks.section()
    assert len(section["buckets"]) <= 21 and section["bucket_ms"] == 256_000
    starts = [row[0] for row in section["buckets"]]
    assert starts == sorted(set(starts))                      # no bucket twice after merges
    assert all(start % section["bucket_ms"] == 0 for start in starts)
    assert [1234_001] == [at for _, depth, at in section["buckets"] if depth == 500]
    assert section["peak"] == 500 and section["peak_ms"] == 1234_001


def test_stream_limit_holds_its_rate_per_stream_in_event_time():
    limit = StreamLimit(10, burst_s=2)
    # a full bucket (2 s of budget) first, then the rate: one event per 100 event ms
    assert sum(limit.admit("a", 1_000) for _ in range(25)) == 20
    assert [limit.admit("a", 1_000 + 100 * k) for k in (1, 1, 2, 2)] == [True, False, True, False]
    assert limit.admit("b", 1_000)                       # another stream has its own bucket
    assert not limit.admit("a", 900)                     # a time that goes back refills nothing
    assert sum(limit.admit("a", 61_000) for _ in range(25)) == 20    # idle: still 2 s
    assert all(StreamLimit(None, 5).admit("a", 0) for _ in range(1000))


def test_harvester_records_a_stalled_drain_as_a_peak_at_its_time(tmp_path, rig):
    r = rig(feed_kwargs={"speed": 10})
    time.sleep(1.5)
    before = r.harvester.depth_peaks.section()["peak"]
    r.hold_drain = True
    held_ms = int(time.time() * 1000)
    time.sleep(1.0)
    depth = len(r.harvester.queue)
    r.hold_drain = False
    wait_for(lambda: len(r.harvester.queue) < depth // 4, what="the backlog drained")
    time.sleep(1.2)                               # a later bucket with the normal flow
    section = harvester_metrics(r.harvester)["queue_depth"]
    assert violations(harvester_metrics(r.harvester), "manifest/harvester_metrics") == []
    assert before < depth / 4 and section["peak"] >= depth > 100
    assert held_ms <= section["peak_ms"] <= held_ms + 1500
    last = section["buckets"][-1]
    assert last[0] > section["peak_ms"] and last[1] < depth / 4     # back to the normal flow


def _shed_run(rig, speed: float) -> tuple[dict[str, list[int]], int]:
    """One rig at `speed` with a planned 8x burst over [4 s, 7 s) of session time (the session
    starts once harvest has subscribed): the aggTrade ids harvest handed on in the first 10 s
    of session time, and how many it shed."""
    r = rig(feed_kwargs={"generate_seed": 21, "speed": speed},
            harvest={"stream_rate_limit_per_s": 30, "stream_rate_burst_s": 1})
    r.feed.control("plan", faults=[{"id": "b", "control": "burst", "params": {"factor": 8},
                                    "start_ms": 4_000, "end_ms": 7_000}])
    session0 = r.feed.engine.session_start_ms
    wait_for(lambda: r.feed.engine.market_ms() > session0 + 11_000, 30, "11 s of session time")
    r.stop()
    ids: dict[str, list[int]] = {}
    for record in r.handoff_records():
        data = record["data"]
        if data.get("e") == "aggTrade" and data["E"] - session0 < 10_000:
            ids.setdefault(data["s"], []).append(data["a"])
    return ids, r.harvester.drops_by_cause()["rate_limit"]


@pytest.mark.slow
def test_a_burst_sheds_the_same_events_at_any_speed(rig):
    slow_ids, slow_shed = _shed_run(rig, speed=2)
    fast_ids, fast_shed = _shed_run(rig, speed=6)
    assert slow_shed > 500 and slow_shed == fast_shed
    assert slow_ids == fast_ids and sum(map(len, slow_ids.values())) > 100


@pytest.mark.parametrize("value, key", [(0, "stream_rate_limit_per_s"),
                                        ("fast", "stream_rate_limit_per_s")])
def test_bad_write_budget_exits_2_naming_the_key(tmp_path, value, key):
    with ReplayFeed(generate_seed=5, speed=1) as feed:
        config = write_config(tmp_path, feed, stream_rate_limit_per_s=value)
        result = subprocess.run([sys.executable, "-m", "orchestrator.stage_main", "harvest",
                                 "--config", config, "--run-dir", str(tmp_path / "r"),
                                 "--run-id", "t"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and key in result.stderr


def test_the_retired_drain_cap_key_is_refused_by_name(tmp_path):
    with ReplayFeed(generate_seed=5, speed=1) as feed:
        config = write_config(tmp_path, feed, drain_max_per_s=100)
        result = subprocess.run([sys.executable, "-m", "orchestrator.stage_main", "harvest",
                                 "--config", config, "--run-dir", str(tmp_path / "r"),
                                 "--run-id", "t"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "drain_max_per_s" in result.stderr


def test_harvester_without_a_feed_reports_an_empty_depth_record(tmp_path):
    config = {"run": {"symbols": ["BTCUSDT"]}, "harvest": {"queue_max": 10}}
    writer = HandoffWriter(tmp_path / "market")
    harvester = Harvester(HarvestSettings.from_config(config), writer, logging.getLogger("t"))
    try:
        section = harvester_metrics(harvester)
        assert section["queue_depth"] == {"bucket_ms": 1000, "peak": 0, "peak_ms": None,
                                          "buckets": []}
        assert section["stream_rate_limit_per_s"] is None
        assert section["queue_dropped_by_cause"] == {"queue_full": 0, "rate_limit": 0}
        assert violations(section, "manifest/harvester_metrics") == []
    finally:
        writer.close()
