"""The harvest queue under pressure: its depth peaks with time, and the handoff write budget.

The burst test checks the drop formula of docs/soak-design.md against a real feed and a real
handoff: a burst that outruns the budget drops
    N - budget * D - (queue_max - depth0) - budget * BURST_S
events (N = events the feed sent in the burst's D wall seconds), so how much is dropped
follows the fault's parameters, not how busy the CPU is.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.budget import BURST_S, WriteBudget
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.queue_depth import DepthPeaks
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.harvest.stage import harvester_metrics
from pytest_soak.replay_feed import ReplayFeed
from pytest_soak.replay_feed.generator import MarketGenerator
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


def test_write_budget_holds_its_rate_and_bursts_at_most_a_tenth_of_a_second():
    now = [100.0]
    budget = WriteBudget(1024, clock=lambda: now[0])
    full = int(1024 * BURST_S)
    assert budget.allowance(10_000) == full                     # starts full: 0.1 s of budget
    budget.spend(full)
    now[0] += 0.0625
    assert budget.allowance(10_000) == 64                       # the rate, exactly
    budget.spend(60)
    assert budget.allowance(3) == 3 and budget.allowance(10) == 4
    now[0] += 60                                                  # idle a minute: still 0.1 s
    assert budget.allowance(10_000) == full
    assert WriteBudget(None).allowance(7) == 7


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


def _events_in_window(seed: int, offset_ms: int, start_ms: int, end_ms: int) -> int:
    """Events the seeded generator has in (start_ms, end_ms] of the feed's re-stamped time."""
    count = 0
    for record in MarketGenerator(seed, 2).events():
        due = record["recv_ms"] + offset_ms
        if due > end_ms:
            return count
        count += due > start_ms
    return count


@pytest.mark.slow
@pytest.mark.parametrize("factor, duration_ms", [(8, 1000), (12, 700)])
def test_burst_drops_follow_the_formula(rig, factor, duration_ms):
    seed, speed, queue_max, budget_per_s = 21, 10, 500, 1500
    r = rig(feed_kwargs={"generate_seed": seed, "speed": speed},
            harvest={"queue_max": queue_max}, budget_per_s=budget_per_s)
    time.sleep(1.0)
    assert r.count("queue_dropped") == 0            # the normal flow (570/s) is within budget
    depth0 = len(r.harvester.queue)
    start = r.feed.control("burst", factor=factor, duration_ms=duration_ms)
    wait_for(lambda: any(h["fault"] == "burst" and h["action"] == "end"
                         for h in r.feed.faults.history), what="the burst's end")
    time.sleep(0.5)
    end = [h for h in r.feed.faults.history if h["fault"] == "burst"][-1]
    sent = _events_in_window(seed, r.feed.engine.offset_ms, start["market_ms"], end["market_ms"])
    wall_s = (end["wall_ms"] - start["wall_ms"]) / 1000
    expected = sent - budget_per_s * wall_s - (queue_max - depth0) - budget_per_s * BURST_S
    dropped = r.count("queue_dropped")
    tolerance = 0.02 * sent + budget_per_s * 0.02
    print(f"sent {sent} in {wall_s:.3f} s: dropped {dropped}, formula {expected:.0f}")
    assert expected > 4 * tolerance                     # the case is not vacuous
    assert abs(dropped - expected) <= tolerance


@pytest.mark.parametrize("value, key", [(0, "handoff_write_budget_per_s"),
                                        ("fast", "handoff_write_budget_per_s")])
def test_bad_write_budget_exits_2_naming_the_key(tmp_path, value, key):
    with ReplayFeed(generate_seed=5, speed=1) as feed:
        config = write_config(tmp_path, feed, handoff_write_budget_per_s=value)
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
        assert section["handoff_write_budget_per_s"] is None
        assert violations(section, "manifest/harvester_metrics") == []
    finally:
        writer.close()
