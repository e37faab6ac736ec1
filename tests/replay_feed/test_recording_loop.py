"""A recording looped (each loop continuing the last) and its REST snapshots served."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import requests

from orchestrator.harvest.book_sync import BookSync
from pytest_soak.replay_feed.book import ServedBook
from pytest_soak.replay_feed.recording import read_recording, write_recording
from pytest_soak.replay_feed.sources import RecordingSource
from tests.replay_feed.conftest import FIXTURE as GENERATED

REAL = GENERATED.parent / "binance_usdm_20240808_45s.jsonl.gz"


def loops_of(source: RecordingSource) -> list[tuple[int, dict]]:
    """(loop index, record) for every record the source yields."""
    out = []
    for record in source.records():
        out.append((source.looper.loop, record))
    return out


@pytest.mark.parametrize("path", [REAL, GENERATED], ids=["real", "generated"])
def test_every_loop_continues_the_previous_one(path: Path) -> None:
    source = RecordingSource(path, loops=3)
    last_u: dict[str, int] = {}
    last_a: dict[str, int] = {}
    last_book: dict[str, int] = {}
    last_recv = 0
    seams = collections.Counter()
    for loop, record in loops_of(source):
        data = record["data"]
        assert record["recv_ms"] >= last_recv
        last_recv = record["recv_ms"]
        symbol = data["s"]
        if data["e"] == "depthUpdate":
            if symbol in last_u:
                assert data["pu"] == last_u[symbol], (loop, symbol)
            last_u[symbol] = data["u"]
            seams[loop] += 1
        elif data["e"] == "aggTrade":
            if symbol in last_a:
                assert data["a"] == last_a[symbol] + 1, (loop, symbol)
            last_a[symbol] = data["a"]
        else:                                         # bookTicker: its book id only grows
            assert data["u"] > last_book.get(symbol, 0), (loop, symbol)
            last_book[symbol] = data["u"]
    assert sorted(seams) == [0, 1, 2]
    assert source.describe()["loops"] == 3


def test_loops_are_shifted_by_the_recordings_length() -> None:
    source = RecordingSource(REAL, loops=2)
    first: dict[int, dict] = {}
    for loop, record in loops_of(source):
        if record["stream"] == "btcusdt@aggTrade":
            first.setdefault(loop, record)
    period = source.shape.period_ms
    assert first[1]["recv_ms"] - first[0]["recv_ms"] == period
    assert first[1]["data"]["T"] - first[0]["data"]["T"] == period
    assert 45_000 < period < 45_200


def _synced_client(source: RecordingSource) -> tuple[BookSync, list]:
    """A client following Binance's procedure with the recording's first BTC snapshot; the
    book it holds at the end of each loop."""
    snapshot = source.snapshots["BTCUSDT"][0]
    client = BookSync("BTCUSDT")
    ends: list = []
    loop_seen = 0
    for loop, record in loops_of(source):
        if loop != loop_seen:
            ends.append((dict(client.bids), dict(client.asks)))
            loop_seen = loop
        if record["stream"] == "btcusdt@depth@100ms":
            client.on_diff(record["data"], None)
            if client.needs_snapshot:
                client.on_snapshot(snapshot)
    ends.append((dict(client.bids), dict(client.asks)))
    return client, ends


def test_a_client_in_sync_across_the_seams_holds_the_same_book_each_loop() -> None:
    """The bridging diff turns the book as served into the loop's starting book: the client
    never resyncs and ends every loop with the book it ended the first with."""
    client, ends = _synced_client(RecordingSource(REAL, loops=3))
    assert client.synced and client.resyncs == 0
    assert len(ends) == 3
    assert ends[0] == ends[1] == ends[2]
    assert len(ends[0][0]) >= 1000                 # the whole snapshot's book, not just diffs


def test_without_snapshots_the_loop_starts_from_the_empty_book(tmp_path: Path) -> None:
    """No snapshot: the first loop's book was built from the diffs alone, from empty; the bridge
    empties the book again, so every loop ends with the book the first ended with."""
    path = tmp_path / "no_snapshots.jsonl"
    write_recording(path, [r for r in read_recording(GENERATED) if r["recv_ms"] < 1767225630000])
    source = RecordingSource(path, loops=3)
    assert source.describe()["snapshots"] is False
    assert "no REST depth snapshots" in source.describe()["note"]
    client = ServedBook()
    ends, after_bridge, loop_seen = [], [], 0
    for loop, record in loops_of(source):
        if record["stream"] != "btcusdt@depth@100ms":
            continue
        if loop != loop_seen:
            ends.append(dict(client.bids))
            loop_seen = loop
            client.apply(record["data"])            # the bridge
            after_bridge.append(dict(client.bids))
            continue
        client.apply(record["data"])
    ends.append(dict(client.bids))
    assert len(ends) == 3 and ends[0] and ends[0] == ends[1] == ends[2]
    assert after_bridge == [{}, {}]


def test_the_feed_serves_the_recorded_snapshot_ahead_of_the_stream(make_feed) -> None:
    feed = make_feed(recording=REAL, start_on="control", loop=True)
    depth = requests.get(f"{feed.urls['rest_base']}/fapi/v1/depth",
                         params={"symbol": "BTCUSDT", "limit": 1000}, timeout=5).json()
    recorded = next(r["data"] for r in read_recording(REAL) if r.get("snapshot") == "BTCUSDT")
    assert depth["lastUpdateId"] == recorded["lastUpdateId"]
    assert depth["bids"] == recorded["bids"] and depth["asks"] == recorded["asks"]
    state = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()
    assert state["source"]["kind"] == "recording" and state["source"]["snapshots"] is True


def test_a_generated_feed_says_so(make_feed) -> None:
    feed = make_feed(start_on="control")
    state = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()
    assert state["source"]["kind"] == "generator"


def test_old_and_new_records_are_read_and_a_bad_snapshot_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"recv_ms": 1, "snapshot": "BTCUSDT", "data": {"bids": []}}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: .*lastUpdateId"):
        list(read_recording(path))


def test_event_times_never_go_back_across_the_seams() -> None:
    last_e: dict[str, int] = {}
    for _loop, record in loops_of(RecordingSource(REAL, loops=3)):
        key = record["stream"]
        if "E" in record["data"]:
            assert record["data"]["E"] >= last_e.get(key, 0), key
            last_e[key] = record["data"]["E"]
