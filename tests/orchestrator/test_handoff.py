"""Durable handoff: order, resume from the committed position, torn tails, a SIGKILLed writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.handoff import HandoffReader, HandoffWriter, list_segments, segment_name


def read_all(reader: HandoffReader) -> list[dict]:
    out: list[dict] = []
    while batch := reader.read(100):
        out.extend(batch)
    return out


def test_records_come_back_in_order_and_resume_after_commit(tmp_path: Path) -> None:
    writer = HandoffWriter(tmp_path, fsync_every=10)
    for i in range(250):
        writer.append({"i": i})
    reader = HandoffReader(tmp_path, "c1")
    assert [r["i"] for r in reader.read(100)] == list(range(100))
    reader.commit()
    reader.read(50)                       # read but not committed: must come again
    again = HandoffReader(tmp_path, "c1")
    assert [r["i"] for r in read_all(again)] == list(range(100, 250))
    other = HandoffReader(tmp_path, "c2")  # each consumer has its own position
    assert len(read_all(other)) == 250
    writer.close()


def test_segments_roll_over_and_restarted_writer_starts_a_new_segment(tmp_path: Path) -> None:
    writer = HandoffWriter(tmp_path, segment_bytes=200)
    for i in range(30):
        writer.append_raw(f'{{"i":{i}}}')
    writer.close()
    rolled = list_segments(tmp_path)
    assert len(rolled) > 1
    writer = HandoffWriter(tmp_path)
    writer.append({"i": 30})
    writer.close()
    assert list_segments(tmp_path)[-1] == rolled[-1] + 1
    assert [r["i"] for r in read_all(HandoffReader(tmp_path, "c"))] == list(range(31))


def test_torn_tail_is_invisible_until_a_newer_segment_exists_then_skipped(tmp_path: Path) -> None:
    writer = HandoffWriter(tmp_path)
    writer.append({"i": 0})
    writer.close()
    with open(tmp_path / segment_name(1), "ab") as handle:
        handle.write(b'{"i": 1, "tor')           # a writer killed mid-line
    reader = HandoffReader(tmp_path, "c")
    assert read_all(reader) == [{"i": 0}]
    assert reader.torn_lines == 0             # may still be completed: not judged yet
    HandoffWriter(tmp_path).append({"i": 2})
    assert read_all(reader) == [{"i": 2}]
    assert reader.torn_lines == 1


def test_a_line_completed_later_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / segment_name(1)
    path.write_bytes(b'{"i": 0}\n{"i"')
    reader = HandoffReader(tmp_path, "c")
    assert read_all(reader) == [{"i": 0}]
    with open(path, "ab") as handle:
        handle.write(b': 1}\n')
    assert read_all(reader) == [{"i": 1}]


WRITER = """
import sys, time
from orchestrator.handoff import HandoffWriter
w = HandoffWriter(sys.argv[1], fsync_every=10**9)
i = 0
while True:
    w.append({"i": i, "pad": "x" * 50})
    i += 1
    if i % 1000 == 0:
        print(i, flush=True)
"""


def test_sigkilled_writer_loses_nothing_it_appended(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        acked = int(proc.stdout.readline())    # append() returned for records 0..acked-1
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL) if os.name == "posix" else proc.kill()
        proc.wait(10)
        proc.stdout.close()
    records = read_all(HandoffReader(tmp_path, "c"))
    assert len(records) >= acked > 0
    assert [r["i"] for r in records] == list(range(len(records)))
