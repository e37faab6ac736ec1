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
