"""A 10-minute recording replayed at max speed reaches the handoff complete."""

from __future__ import annotations

import collections
import json

import pytest

from pytest_soak.replay_feed import generate_recording, read_recording
from tests.harvest.conftest import wait_for


@pytest.mark.slow
def test_ten_minute_recording_at_max_speed_arrives_complete(rig, tmp_path):
    recording = tmp_path / "ten_minutes.jsonl.gz"
    generate_recording(recording, seed=77, minutes=10)
    expected = collections.defaultdict(list)
    for record in read_recording(recording):
        if record["stream"].endswith("@aggTrade"):
            expected[record["data"]["s"]].append(record["data"]["a"])
    r = rig(feed_kwargs={"recording": recording, "generate_seed": None, "speed": "max"})
    assert r.feed.wait_finished(120), "the feed did not deliver the whole recording"
    total = sum(len(ids) for ids in expected.values())
    wait_for(lambda: sum(v["count"] for v in r.harvester.aggtrade_ids.ids.values()) == total,
             30, "every aggTrade in the handoff")
    r.stop()
    out = collections.defaultdict(list)
    for record in r.handoff_records():
        assert set(record) == {"recv_ms", "stream", "data"}
        if record["stream"].endswith("@aggTrade"):
            out[record["data"]["s"]].append(record["data"]["a"])
    assert out == expected
    counts = r.harvester.counts()
    assert counts["queue_dropped"] == counts["resync_count"] == counts["malformed_count"] == 0
    for symbol, book in r.harvester.books.items():          # never out of sync, and equal
        served = r.feed.engine.books[symbol]
        assert book.synced and book.bids == served.bids and book.asks == served.asks


def test_recorded_frames_replay_as_is(rig, tmp_path):
    """harvest.record writes the feed's recording format: the capture is replayable."""
    from orchestrator.harvest.recorder import FrameRecorder
    r = rig()
    r.harvester.recorder = recorder = FrameRecorder(tmp_path / "recordings")
    wait_for(lambda: r.count("events_in") > 300, what="some traffic")
    r.stop()
    recorder.close()
    records = list(read_recording(recorder.path))
    assert len(records) > 100
    assert {json.dumps(sorted(rec)) for rec in records} == {'["data", "recv_ms", "stream"]'}
    assert {rec["stream"].split("@", 1)[1] for rec in records} == {
        "aggTrade", "depth@100ms", "bookTicker"}


def test_a_recording_carries_its_snapshots_and_replays_to_the_same_books(tmp_path):
    """The recorder writes the REST snapshots harvest synced with; the feed replaying the
    recording serves them, so the replayed books are the live ones, whole (issue 13)."""
    from orchestrator.harvest.recorder import FrameRecorder
    from pytest_soak.replay_feed import ReplayFeed
    from tests.harvest.conftest import Rig

    live_feed = ReplayFeed(generate_seed=5, speed=5).start()
    try:
        live = Rig(tmp_path / "live", live_feed, {}, {})
        live.harvester.recorder = recorder = FrameRecorder(tmp_path / "recordings")
        live.start()
        wait_for(lambda: live.count("events_in") > 400, what="some traffic")
        live.stop()
        recorder.close()
    finally:
        live_feed.stop()
    snapshots = [r for r in read_recording(recorder.path) if "snapshot" in r]
    assert sorted(s["snapshot"] for s in snapshots) == ["BTCUSDT", "ETHUSDT"]
    assert all(set(s) == {"recv_ms", "snapshot", "data"} and s["data"]["bids"]
               for s in snapshots)

    replay_feed = ReplayFeed(recording=recorder.path, speed="max").start()
    try:
        replay = Rig(tmp_path / "replay", replay_feed, {}, {}).start()
        assert replay_feed.wait_finished(60)
        wait_for(lambda: all(b.last_u == live.harvester.books[s].last_u
                             for s, b in replay.harvester.books.items()), 30, "the last diff")
        replay.stop()
    finally:
        replay_feed.stop()
    assert replay.count("resync_count") == 0
    for symbol, book in replay.harvester.books.items():
        served = replay_feed.engine.books[symbol]
        assert served.based                     # the recorded snapshot, not just the diffs
        assert book.bids == live.harvester.books[symbol].bids == served.bids
        assert book.asks == live.harvester.books[symbol].asks == served.asks
