"""Frame validation and the order-book procedure, unit by unit."""

from __future__ import annotations

import pytest

from orchestrator.harvest.binance import Malformed, parse_frame
from orchestrator.harvest.book_sync import BookSync

SUBS = {"btcusdt@aggTrade", "btcusdt@depth@100ms"}
AGG = ('{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"a":5,"s":"BTCUSDT",'
       '"p":"1.0","q":"0.001","f":1,"l":1,"T":1,"m":true}}')


def test_valid_event_and_reply():
    stream, data = parse_frame(AGG, SUBS)
    assert stream == "btcusdt@aggTrade" and data["a"] == 5
    assert parse_frame('{"result":null,"id":1}', SUBS) == (None, {"result": None, "id": 1})


@pytest.mark.parametrize("frame,kind", [
    (b"\x00", "binary_frame"),
    ('{"stream":', "non_json"),
    ("[1]", "not_an_object"),
    ('{"x":1}', "no_envelope"),
    (AGG.replace("btcusdt@aggTrade", "btcusdt@kline_1m"), "unknown_stream"),
    (AGG.replace('"p":"1.0",', ""), "missing_field"),
    (AGG.replace('"a":5', '"a":"5"'), "wrong_type"),
    (AGG.replace('"m":true', '"m":1'), "wrong_type"),
    (AGG.replace('"p":"1.0"', '"p":"abc"'), "bad_number"),
    (AGG.replace('"s":"BTCUSDT"', '"s":"ETHUSDT"'), "wrong_symbol"),
])
def test_malformed_kinds(frame, kind):
    with pytest.raises(Malformed) as info:
        parse_frame(frame, SUBS)
    assert info.value.kind == kind


def diff(first: int, last: int, prev: int, bids=(), asks=()) -> dict:
    return {"U": first, "u": last, "pu": prev, "b": [list(b) for b in bids],
            "a": [list(a) for a in asks]}


def test_book_procedure_buffers_snapshots_and_chains():
    book = BookSync("BTCUSDT")
    assert book.on_diff(diff(95, 99, 94), "old") == []           # buffered
    assert book.on_diff(diff(100, 104, 99, bids=[("10", "2")]), "a") == []
    out = book.on_snapshot({"lastUpdateId": 102, "bids": [["10", "1"]], "asks": [["11", "1"]]})
    assert out == ["a"] and book.synced and book.bids == {"10": "2"}   # u < L dropped
    assert book.on_diff(diff(105, 106, 104, asks=[("11", "0")]), "b") == ["b"]
    assert book.asks == {} and book.resyncs == 0
    assert book.on_diff(diff(120, 121, 119), "gap") == []          # pu != 106
    assert not book.synced and book.needs_snapshot and book.resyncs == 1


def test_stale_snapshot_is_refetched_not_applied():
    book = BookSync("BTCUSDT")
    book.on_diff(diff(200, 205, 199), "x")
    assert book.on_snapshot({"lastUpdateId": 150, "bids": [], "asks": []}) == []
    assert book.on_snapshot({"lastUpdateId": 190, "bids": [], "asks": []}) == []
    assert book.needs_snapshot and not book.synced               # U=200 > L=190: stale


def test_a_frame_that_breaks_processing_is_counted_not_fatal(caplog):
    """Even an error past validation (here: a book fed garbage) is counted and survived."""
    import logging

    from orchestrator.harvest.harvester import Harvester
    from orchestrator.harvest.settings import HarvestSettings

    class Sink:
        def append_raw(self, line: str) -> None: ...
        def flush(self) -> None: ...

    class Conn:
        last_seen: dict = {}

        def note_stream(self, stream: str, now: float) -> None:
            self.last_seen[stream] = now

    h = Harvester(HarvestSettings.from_config({"run": {"symbols": ["BTCUSDT"]}}), Sink(),
                  logging.getLogger("t"))
    h.books["BTCUSDT"].on_diff = None                  # processing will raise TypeError
    frame = ('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,'
             '"s":"BTCUSDT","U":1,"u":2,"pu":0,"b":[],"a":[]}}')
    h._on_message(Conn(), frame)
    h._on_message(Conn(), frame)
    assert h.counts()["malformed_count"] == 2
    messages = [r.message for r in caplog.records if "could not be processed" in r.message]
    assert len(messages) == 1 and "TypeError" in messages[0]


def test_out_of_order_aggtrade_ids_are_counted_and_not_forwarded():
    import logging

    from orchestrator.harvest.harvester import Harvester
    from orchestrator.harvest.settings import HarvestSettings

    lines: list[str] = []

    class Sink:
        def append_raw(self, line: str) -> None:
            lines.append(line)

        def flush(self) -> None: ...

    class Conn:
        last_seen: dict = {}

        def note_stream(self, stream: str, now: float) -> None:
            self.last_seen[stream] = now

    h = Harvester(HarvestSettings.from_config({"run": {"symbols": ["BTCUSDT"]}}), Sink(),
                  logging.getLogger("t"))
    for agg_id in (5, 6, 6, 4, 7):
        h._on_message(Conn(), AGG.replace('"a":5', f'"a":{agg_id}'))
    h.drain(100)
    assert h.counts()["out_of_order_count"] == 2
    assert h.aggtrade_ids.ids == {"BTCUSDT": {"first": 5, "last": 7, "count": 3}}
    assert len(lines) == 3 and lines[0].startswith('{"recv_ms":')


def test_batched_handoff_writes_read_back_line_by_line(tmp_path):
    """HandoffWriter.append_raw_many (added for harvest's drain) counts and reads like
    append_raw."""
    from orchestrator.handoff import HandoffReader, HandoffWriter
    writer = HandoffWriter(tmp_path / "market", fsync_every=3)
    writer.append_raw_many([f'{{"recv_ms":{i},"stream":"s","data":{{}}}}' for i in range(5)])
    writer.append_raw('{"recv_ms":5,"stream":"s","data":{}}')
    assert writer.appended == 6
    writer.close()
    records = HandoffReader(tmp_path / "market", "test").read(100)
    assert [r["recv_ms"] for r in records] == list(range(6))
