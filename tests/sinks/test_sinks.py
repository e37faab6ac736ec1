"""JSONL, SQLite and dual sinks: round trip, idempotence, torn tails, locked database."""

import sqlite3
import threading

import pytest

from orchestrator.sinks import (
    DualSink,
    JsonlSink,
    SinkUnavailable,
    SqliteSink,
    jsonl_settings,
    open_sink,
    sqlite_settings,
)
from pytest_soak_evidence.sinks import read_jsonl_signals, read_sqlite_signals
from tests.sinks.signal_rows import make_row, make_rows


def test_jsonl_round_trip_and_idempotence(tmp_path):
    path = tmp_path / "signals.jsonl"
    sink = JsonlSink(path, **jsonl_settings())
    assert sink.write_batch(make_rows(10)) == 10
    assert sink.write_batch(make_rows(10, start=5)) == 5         # 5..9 already there
    sink.close()
    reopened = JsonlSink(path, **jsonl_settings())               # ids rebuilt from the file
    assert reopened.write_batch(make_rows(3)) == 0
    assert reopened.counters.duplicates_skipped == 3
    reopened.close()
    rows, torn = read_jsonl_signals(path)
    assert [r["row_id"] for r in rows] == [f"BTCUSDT-{i}" for i in range(15)]
    assert torn == 0 and rows[0] == make_row(0)


def test_sqlite_round_trip_and_idempotence(tmp_path):
    path = tmp_path / "signals.sqlite"
    sink = SqliteSink(path, **sqlite_settings())
    assert sink.write_batch(make_rows(10)) == 10
    assert sink.write_batch(make_rows(10, start=5)) == 5
    sink.close()
    again = SqliteSink(path, **sqlite_settings())
    assert again.write_batch(make_rows(3)) == 0
    again.close()
    rows, torn = read_sqlite_signals(path)
    assert len(rows) == 15 and torn == 0
    assert rows[0] == make_row(0)                                 # booleans come back as bool
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "signals_ts" in {r[1] for r in conn.execute("PRAGMA index_list(signals)")}
    conn.close()


def test_torn_tail_is_counted_by_readers_and_cut_by_the_writer(tmp_path):
    path = tmp_path / "signals.jsonl"
    sink = JsonlSink(path, **jsonl_settings())
    sink.write_batch(make_rows(4))
    sink.close()
    with open(path, "ab") as handle:                   # what a SIGKILL mid-write leaves
        handle.write(b'{"row_id": "BTCUSDT-4", "ts_ms": 17')
    rows, torn = read_jsonl_signals(path)
    assert (len(rows), torn) == (4, 1)
    sink = JsonlSink(path, **jsonl_settings())
    assert sink.counters.torn_lines == 1
    assert sink.write_batch(make_rows(2, start=4)) == 2         # row 4 was never committed
    sink.close()
    rows, torn = read_jsonl_signals(path)
    assert [r["row_id"] for r in rows] == [f"BTCUSDT-{i}" for i in range(6)] and torn == 0


def test_garbled_middle_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "signals.jsonl"
    path.write_bytes(b'{"row_id": "a", "ts_ms": 1}\nnot json\n[1, 2]\n'
                     b'{"row_id": "b", "ts_ms": 2}\n')
    rows, torn = read_jsonl_signals(path)
    assert [r["row_id"] for r in rows] == ["a", "b"] and torn == 2


def test_locked_sqlite_is_retried_then_reported(tmp_path):
    path = tmp_path / "signals.sqlite"
    sink = SqliteSink(path, **{**sqlite_settings(), "busy_timeout_ms": 0, "lock_retries": 2,
                                    "retry_delay_ms": 10})
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")                            # holds the write lock
    with pytest.raises(SinkUnavailable, match="stayed locked after 3 attempts"):
        sink.write_batch(make_rows(5))
    assert sink.counters.lock_retries == 2 and sink.counters.errors == 1
    blocker.execute("ROLLBACK")
    assert sink.write_batch(make_rows(5)) == 5                    # the kept batch goes in later
    blocker.close()
    sink.close()


def test_lock_released_during_retries_succeeds(tmp_path):
    path = tmp_path / "signals.sqlite"
    sink = SqliteSink(path, **{**sqlite_settings(), "busy_timeout_ms": 0, "lock_retries": 6,
                                    "retry_delay_ms": 20})
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.1, lambda: blocker.execute("ROLLBACK"))
    release.start()
    try:
        assert sink.write_batch(make_rows(5)) == 5
        assert sink.counters.lock_retries >= 1 and sink.counters.errors == 0
    finally:
        release.join()
        blocker.close()
        sink.close()


def test_dual_sink_writes_both_and_tolerates_a_retry(tmp_path):
    sink = open_sink("dual", tmp_path)
    assert isinstance(sink, DualSink)
    assert sink.write_batch(make_rows(8)) == 8
    assert sink.write_batch(make_rows(8)) == 0                    # a retried batch: no-op
    sink.close()
    jsonl, _ = read_jsonl_signals(tmp_path / "signals.jsonl")
    sqlite, _ = read_sqlite_signals(tmp_path / "signals.sqlite")
    assert {r["row_id"] for r in jsonl} == {r["row_id"] for r in sqlite} and len(jsonl) == 8
    assert sorted(jsonl, key=lambda r: r["row_id"]) == sorted(sqlite, key=lambda r: r["row_id"])


def test_open_sink_refuses_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="unknown sink 'csv'"):
        open_sink("csv", tmp_path)


def test_sqlite_reader_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="signals.sqlite does not exist"):
        read_sqlite_signals(tmp_path / "signals.sqlite")
