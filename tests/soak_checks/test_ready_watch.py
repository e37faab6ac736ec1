"""The harness's watch of outbox/ready/ (pytest_soak/ready_watch.py): the real outbox's
rename-only publication is never seen torn; a file written in place is, and its growth is."""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.outbox import Outbox
from pytest_soak.ready_watch import ReadyWatch, torn_reason


def _watch(ready: Path) -> ReadyWatch:
    watch = ReadyWatch(ready, poll_ms=5)
    watch.start()
    return watch


def test_torn_reason_names_what_is_wrong() -> None:
    assert torn_reason(b'{"a":1}\n{"b":2}\n') is None
    assert torn_reason(b"") == "empty"
    assert torn_reason(b'{"a":1}\n{"b":') == "last line not newline-terminated"
    assert torn_reason(b'{"a":1}\n{"b":\n') == "last line not JSON"


def test_the_real_outbox_is_never_seen_torn(tmp_path: Path) -> None:
    watch = _watch(tmp_path / "outbox" / "ready")
    outbox = Outbox(tmp_path / "outbox", fsync_every=1, max_file_bytes=4000, prefix="t",
                    rename_attempts=1, rename_delay_s=0.0)
    for n in range(400):
        outbox.append({"ts_ms": 60_000 * (n // 50), "n": n, "pad": "x" * 40})
        if n % 25 == 0:
            time.sleep(0.01)
    outbox.close()
    watch.stop()
    doc = watch.summary()
    assert len(doc["files"]) > 5 and doc["polls"] > 3
    assert doc["torn"] == [] and doc["changed"] == []


def test_a_file_written_in_place_is_seen_torn_and_growing(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.mkdir()
    watch = _watch(ready)
    with open(ready / "a.jsonl", "wb") as out:
        out.write(b'{"n":1}\n{"n":')
        out.flush()
        time.sleep(0.1)
        out.write(b"2}\n")
    time.sleep(0.05)
    (ready / "b.jsonl").write_bytes(b'{"n":3}\n')
    time.sleep(0.05)
    (ready / "b.jsonl").unlink()
    watch.stop()
    doc = watch.summary()
    assert [t["file"] for t in doc["torn"]] == ["a.jsonl"]
    assert {(c["file"], c["why"]) for c in doc["changed"]} == {
        ("a.jsonl", "size/mtime changed"), ("b.jsonl", "removed from ready/")}


def test_a_rewrite_keeping_size_and_mtime_is_caught_by_the_final_pass(tmp_path: Path) -> None:
    import os
    ready = tmp_path / "ready"
    ready.mkdir()
    path = ready / "a.jsonl"
    path.write_bytes(b'{"n":1}\n')
    watch = _watch(ready)
    time.sleep(0.05)
    stat = path.stat()
    path.write_bytes(b'{"n":2}\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    watch.stop()
    assert [c["why"] for c in watch.summary()["changed"]] == ["content rewritten (final pass)"]
