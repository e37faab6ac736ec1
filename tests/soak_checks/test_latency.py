"""Signal latency (pytest_soak/latency.py): percentiles, the sent log's format, matching rows
to sends, and the sink watch over the real JSONL and SQLite sinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.sinks.base import SIGNAL_FIELDS
from orchestrator.sinks.jsonl import JsonlSink
from orchestrator.sinks.sqlite import SqliteSink
from pytest_soak import latency
from pytest_soak.replay_feed.sent_log import SentLog
from pytest_soak.sink_watch import JsonlTail, SeenRows, SinkWatch, SqlitePoll
from pytest_soak_evidence.schemas import violations
from pytest_soak_evidence.sinks import jsonl_path, sqlite_path


def row(symbol: str, agg_id: int) -> dict:
    base = dict.fromkeys(SIGNAL_FIELDS)
    return {**base, "row_id": f"{symbol}-{agg_id}", "ts_ms": agg_id, "symbol": symbol,
            "agg_id": agg_id, "confirm": False, "strong": False}


def sent_log(pairs: list[tuple[str, int, int]]) -> SentLog:
    log = SentLog()
    for symbol, agg_id, sent_us in pairs:
        log.sent(symbol, agg_id)
        log.sent_us[symbol][-1] = sent_us
    return log


def test_nearest_rank_is_a_measured_value_never_interpolated() -> None:
    values = list(range(1, 101))
    assert latency.nearest_rank(values, 50) == 50
    assert latency.nearest_rank(values, 99) == 99
    assert latency.nearest_rank(values, 100) == 100
    assert latency.nearest_rank([7], 99) == 7
    assert latency.nearest_rank([1, 2, 3], 50) == 2          # rank ceil(1.5) = 2
    assert latency.nearest_rank([1, 2, 3], 99) == 3
    with pytest.raises(ValueError):
        latency.nearest_rank([], 50)


def test_stats_are_in_ms_and_null_without_values() -> None:
    stats = latency.stats_ms([30_000, 10_000, 20_000, 1_000_250])
    assert stats == {"p50_ms": 20.0, "p99_ms": 1000.2, "max_ms": 1000.2, "mean_ms": 265.1,
                     "min_ms": 10.0}
    assert set(latency.stats_ms([]).values()) == {None}


def test_sent_log_round_trips_and_refuses_other_bytes() -> None:
    log = sent_log([("BTCUSDT", 5, 100), ("ETHUSDT", 9, 150), ("BTCUSDT", 6, 200)])
    back = SentLog.from_bytes(log.to_bytes())
    assert {s: list(ids) for s, ids in back.ids.items()} == {"BTCUSDT": [5, 6], "ETHUSDT": [9]}
    assert list(back.sent_us["BTCUSDT"]) == [100, 200] and len(back) == 3
    with pytest.raises(ValueError, match="not a pytest-soak feed sent log"):
        SentLog.from_bytes(b'{"format": "other"}\n')
    with pytest.raises(ValueError, match="bytes of arrays"):
        SentLog.from_bytes(log.to_bytes()[:-8])


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_rows_match_their_first_send_and_the_rest_is_unmatched(order: str) -> None:
    pairs = [("BTCUSDT", 1, 1_000), ("BTCUSDT", 2, 2_000), ("BTCUSDT", 3, 3_000)]
    if order == "shuffled":                    # out of order, and id 2 sent twice: first wins
        pairs = [pairs[2], pairs[1], pairs[0], ("BTCUSDT", 2, 9_000)]
    index = latency.SentIndex(sent_log(pairs))
    seen = SeenRows()
    for symbol, agg_id, at_us in (("BTCUSDT", 2, 52_000), ("BTCUSDT", 3, 43_000),
                                  ("BTCUSDT", 4, 50_000), ("ETHUSDT", 1, 50_000)):
        seen.add(symbol, agg_id, at_us)
    seen.add(None, 1, 1)                        # no symbol: not a row the watch can name
    latencies, unmatched, worst, before = latency.match(index, seen)
    assert sorted(latencies) == [40_000, 50_000] and unmatched == 2 and before == 0
    assert latency.match(index, seen, from_us=50_000)[::3] == ([50_000], 1)  # 43 ms: before
    assert worst == [{"symbol": "BTCUSDT", "agg_id": 2, "latency_ms": 50.0, "visible_ms": 52},
                     {"symbol": "BTCUSDT", "agg_id": 3, "latency_ms": 40.0, "visible_ms": 43}]
    assert seen.rows == 4 and seen.unnamed == 1


def test_jsonl_tail_counts_complete_lines_once_across_a_torn_tail_and_its_cut(
        tmp_path: Path) -> None:
    path = jsonl_path(tmp_path)
    path.parent.mkdir(parents=True)
    sink = JsonlSink(path, fsync=False)
    sink.write_batch([row("BTCUSDT", 1), row("BTCUSDT", 2)])
    tail, seen = JsonlTail(path), SeenRows()
    tail.poll(seen)
    with open(path, "ab") as handle:           # a SIGKILLed writer's torn tail...
        handle.write(b'{"row_id":"BTCUSDT-3","symbol":"BTC')
    tail.poll(seen)
    assert seen.rows == 2                      # ...is not a row yet
    sink.close()
    sink = JsonlSink(path, fsync=False)        # the restarted sink cuts it, writes it again
    sink.write_batch([row("BTCUSDT", 2), row("BTCUSDT", 3)])
    with open(path, "ab") as handle:
        handle.write(b"not json\n")
    tail.poll(seen)
    sink.close()
    assert list(seen.ids["BTCUSDT"]) == [1, 2, 3]
    assert (tail.torn, tail.rewound) == (1, 0)


def test_sqlite_poll_sees_each_committed_row_once(tmp_path: Path) -> None:
    path = sqlite_path(tmp_path)
    poll, seen = SqlitePoll(path), SeenRows()
    poll.poll(seen)                            # no database yet: nothing, no error
    sink = SqliteSink(path, busy_timeout_ms=200, lock_retries=1, retry_delay_ms=1,
                      synchronous="NORMAL")
    sink.write_batch([row("ETHUSDT", 7), row("BTCUSDT", 8)])
    poll.poll(seen)
    sink.write_batch([row("ETHUSDT", 7), row("ETHUSDT", 9)])    # 7 again: ignored
    poll.poll(seen)
    poll.poll(seen)
    sink.close()
    poll.close()
    assert {s: list(ids) for s, ids in seen.ids.items()} == {"ETHUSDT": [7, 9], "BTCUSDT": [8]}


def test_without_a_sent_log_the_document_says_why_and_is_valid(tmp_path: Path) -> None:
    watch = SinkWatch(tmp_path, "dual", poll_ms=5)
    watch.start()
    sink = JsonlSink(jsonl_path(tmp_path), fsync=False)
    sink.write_batch([row("BTCUSDT", 1)])
    sink.close()
    watch.stop()
    doc = latency.write(tmp_path, "run-x", "replay", 30.0, watch, None)
    assert violations(doc, "signal_latency") == []
    assert doc["error"].startswith("no replay feed")
    assert doc["sinks"]["jsonl"]["rows_seen"] == 1 and doc["sinks"]["jsonl"]["unmatched"] == 1
    assert doc["from_ms"] is None and doc["sinks"]["jsonl"]["before_start"] == 0
    assert doc["sinks"]["jsonl"]["p99_ms"] is None and "REPLAY" in doc["label"]
    assert (tmp_path / latency.LATENCY_FILE).exists()
    assert latency.summary_line(doc).startswith("signal latency (REPLAY, wall at speed 30x")


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str, **_kw: object) -> None:
        self.lines.append(title)

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_the_dod_summary_shows_the_figures_of_a_valid_file(tmp_path: Path) -> None:
    from pytest_soak.checks.judgement import judge_run, write_verdict
    from tests.soak_checks.factory import good_run
    run = good_run(tmp_path)
    sent_log([("BTCUSDT", 1, 1_000_000), ("BTCUSDT", 2, 1_010_000)]).write(
        run / latency.SENT_LOG)
    watch = SinkWatch(run, "jsonl")
    watch.seen["jsonl"].add("BTCUSDT", 1, 1_062_000)
    watch.seen["jsonl"].add("BTCUSDT", 2, 1_081_000)
    latency.write(run, "run-x", "live", 1.0, watch, run / latency.SENT_LOG)
    judgement = judge_run(run, draw=False)
    assert judgement.run.file(latency.LATENCY_FILE).ok
    reporter = Reporter()
    write_verdict(reporter, judgement)
    assert ("signal latency (LIVE 1x, poll 10 ms included): jsonl p50 62 / p99 71 / max 71 ms "
            "(n=2)") in reporter.lines
