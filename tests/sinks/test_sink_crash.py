"""SIGKILL a process writing to the dual sink mid-batch, restart it: nothing committed is lost,
nothing is duplicated, and both sinks end with the same rows."""

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from pytest_soak_evidence.sinks import read_jsonl_signals, read_sqlite_signals

WRITER = Path(__file__).with_name("sink_writer.py")
BATCH_ROWS = 400
LAST_BATCH = 60


def committed_batches(progress: Path) -> list[int]:
    if not progress.exists():
        return []
    return [int(line) for line in progress.read_text().splitlines() if line.strip()]


@pytest.fixture
def spawn(tmp_path, spawned):
    starts = iter(range(1000))

    def start(first: int, last: int) -> subprocess.Popen:
        return spawned(
            [sys.executable, str(WRITER), str(tmp_path / "sinks"), str(tmp_path / "progress"),
             str(BATCH_ROWS), str(first), str(last)], tmp_path / f"writer{next(starts)}.log")

    return start


@pytest.mark.slow
def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(tmp_path, spawn):
    progress = tmp_path / "progress"
    writer = spawn(0, 10_000)                          # would run far past LAST_BATCH
    deadline = time.monotonic() + 30
    while len(committed_batches(progress)) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    psutil.Process(writer.pid).kill()                  # SIGKILL, wherever it is in a batch
    writer.wait(timeout=10)
    done_before_kill = committed_batches(progress)
    assert len(done_before_kill) >= 5

    jsonl_rows, _ = read_jsonl_signals(tmp_path / "sinks" / "signals.jsonl")
    sqlite_rows, _ = read_sqlite_signals(tmp_path / "sinks" / "signals.sqlite")
    for rows in (jsonl_rows, sqlite_rows):             # committed = in both, once
        ids = Counter(r["row_id"] for r in rows)
        for batch in done_before_kill:
            first = batch * BATCH_ROWS
            assert all(ids[f"BTCUSDT-{i}"] == 1 for i in range(first, first + BATCH_ROWS))

    # restart from the first batch not known committed, as the signal stage replays from its
    # committed offset (so the killed batch comes again)
    restart = spawn(max(done_before_kill) + 1, LAST_BATCH)
    assert restart.wait(timeout=60) == 0

    jsonl_rows, torn = read_jsonl_signals(tmp_path / "sinks" / "signals.jsonl")
    sqlite_rows, _ = read_sqlite_signals(tmp_path / "sinks" / "signals.sqlite")
    expected = {f"BTCUSDT-{i}" for i in range((LAST_BATCH + 1) * BATCH_ROWS)}
    for rows in (jsonl_rows, sqlite_rows):
        ids = [r["row_id"] for r in rows]
        assert len(ids) == len(set(ids)), "a duplicate row"
        assert set(ids) == expected
    assert torn == 0                                   # the restarted writer cut any torn tail
