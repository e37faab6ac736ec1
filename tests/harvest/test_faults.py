"""Each fault the feed injects produces harvest's counted, documented reaction."""

from __future__ import annotations

import time

import pytest

from pytest_soak.replay_feed import MarketGenerator
from tests.harvest.conftest import wait_for


def test_drop_every_connection_reconnects_and_resyncs(rig):
    r = rig()
    fault = r.feed.control("drop")
    wait_for(lambda: r.count("reconnect_count") >= 2, what="both connections reopened")
    wait_for(lambda: r.harvester.open_connections >= 2 and
             all(b.synced for b in r.harvester.books.values()), what="back in sync")
    stamps = r.harvester.counter_sections()["reconnect_count"]["timestamps_ms"]
    assert all(t >= fault["wall_ms"] for t in stamps)


def test_refused_reconnects_back_off_then_succeed(rig):
    r = rig()
    r.feed.control("drop", refuse_ms=800)
    wait_for(lambda: r.count("reconnect_count") >= 4, what="repeated refused attempts")
    before = r.count("events_in")
    wait_for(lambda: r.count("events_in") > before + 20, what="flow after the refusal")


def test_stalled_substream_is_flagged_and_resubscribed(rig):
    r = rig()
    fault = r.feed.control("stall", stream="btcusdt@bookTicker")
    wait_for(lambda: r.count("substream_timeout_detected") >= 1, what="watchdog flag")
    flagged = r.harvester.counter_sections()["substream_timeout_detected"]["timestamps_ms"][0]
    assert flagged - fault["wall_ms"] >= 900               # silence_s = 1
    state = r.feed.engine.clients.values()
    wait_for(lambda: all("btcusdt@bookTicker" not in c.stalled for c in state),
             what="resubscribe cured the stall")
    assert r.count("reconnect_count") == 0                  # others kept flowing


def test_a_stalled_busy_stream_is_flagged_by_its_pace_long_before_the_bound(rig):
    """The bound is 30 s; btc's depth stream, 10 frames a market second at 5x, stalls: its pace
    (gaps of ~20 ms, x 8, floored at 1.5 s) flags it after the floor, not the bound."""
    r = rig(harvest={"substream_silence_s": 30.0, "substream_silence_floor_s": 1.5})
    wait_for(lambda: r.count("events_in") > 600, what="a pace to learn")
    fault = r.feed.control("stall", stream="btcusdt@depth@100ms")
    wait_for(lambda: r.count("substream_timeout_detected") >= 1, 10, what="watchdog flag")
    flagged = r.harvester.counter_sections()["substream_timeout_detected"]["timestamps_ms"][0]
    assert 1400 <= flagged - fault["wall_ms"] < 4000
    assert r.harvester.stream_timeouts() == {"btcusdt@depth@100ms": 1}


@pytest.mark.parametrize("kind", ["non_json", "missing_field", "wrong_type", "unknown_stream",
                                  "binary"])
def test_malformed_frames_are_counted_and_survived(rig, kind):
    r = rig()
    r.feed.control("malformed", kind=kind, stream="btcusdt@aggTrade", count=3)
    wait_for(lambda: r.count("malformed_count") == 3, what="3 malformed counted")
    before = r.count("events_in")
    wait_for(lambda: r.count("events_in") > before + 10, what="still harvesting")
    assert r.count("reconnect_count") == 0


def test_update_id_gap_forces_a_counted_resync(rig):
    r = rig()
    r.feed.control("gap", symbol="BTCUSDT", skip=7)
    wait_for(lambda: r.count("resync_count") == 1, what="resync counted")
    wait_for(lambda: r.harvester.books["BTCUSDT"].synced, what="back in sync")
    assert r.harvester.books["ETHUSDT"].synced


def test_failing_snapshot_is_counted_and_retried(rig):
    r = rig()
    r.feed.control("rest_fail", count=2)
    r.feed.control("gap", symbol="ETHUSDT", skip=3)
    wait_for(lambda: r.count("snapshot_errors") == 2, what="two failed snapshots")
    wait_for(lambda: r.harvester.books["ETHUSDT"].synced, what="synced after retries")


def test_burst_overflows_a_small_queue_and_drops_are_counted(rig):
    r = rig(feed_kwargs={"speed": 1}, harvest={"queue_max": 200})
    r.hold_drain = True                                      # the stage falls behind
    fault = r.feed.control("burst", factor=100, duration_ms=1500)
    wait_for(lambda: r.count("queue_dropped") > 0, what="drops")
    r.hold_drain = False
    spans = r.harvester.counter_sections()["queue_dropped"]["spans"]
    assert spans[0][0] >= fault["wall_ms"] and sum(s[2] for s in spans) == r.count("queue_dropped")
    assert len(r.harvester.queue) <= 200


def test_pause_all_skips_events_like_an_outage(rig):
    """Paced: the market clock runs on, so diffs are missed: one resync per symbol."""
    r = rig(feed_kwargs={"speed": 5})
    fault = r.feed.control("pause")
    time.sleep(0.6)
    end = r.feed.control("pause", action="end")
    assert end["market_ms"] - fault["market_ms"] >= 2_500      # 0.6 s x 5
    wait_for(lambda: r.count("resync_count") >= 2, what="resyncs after the outage")
    wait_for(lambda: all(b.synced for b in r.harvester.books.values()), what="in sync")


def test_preemptive_reconnect_before_the_connection_age_limit(rig):
    r = rig(harvest={"max_connection_age_s": 1.0})
    wait_for(lambda: r.count("reconnect_count") >= 2, what="age-limit reconnects")


def test_legacy_unrouted_endpoint_uses_one_connection(rig):
    r = rig(feed_cfg={"routed": False})
    assert [c.name for c in r.harvester.connections] == ["legacy"]
    assert "/stream?streams=" in r.harvester.connections[0].url
    assert "/public" not in r.harvester.connections[0].url
    wait_for(lambda: r.harvester.aggtrade_ids.ids, what="aggTrades over the legacy path")


def test_drop_at_max_speed_the_feed_waits_for_the_reconnect(rig, tmp_path):
    """max: the feed holds events while a subscribed stream has no reader, so the session
    still runs to its end after every connection was dropped."""
    r = rig(feed_kwargs={"generate_seed": 8, "minutes": 3, "speed": "max"})
    r.feed.control("drop")
    assert r.feed.wait_finished(60)
    wait_for(lambda: r.count("reconnect_count") >= 2, what="reconnected")
    last_id = max(rec["data"]["a"] for rec in MarketGenerator(8).records(3)
                  if rec["stream"] == "btcusdt@aggTrade")
    wait_for(lambda: r.harvester.aggtrade_ids.ids["BTCUSDT"]["last"] == last_id,
             what="the session's last aggTrade")
