"""Outbox: publication exactly once, rotation by minute and size, rename retry, recovery."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator.outbox import MINUTE_MS, OutboxError
from pytest_soak_evidence.outbox import scan_ready
from tests.outbox.contract_events import BASE_TS_MS, make_event, make_outbox, seq_of


@pytest.mark.slow  # validating 10 000 lines against the schema takes ~5 s
def test_10k_events_each_in_ready_exactly_once(tmp_path: Path) -> None:
    outbox = make_outbox(tmp_path, fsync_every=100, max_file_bytes=256 * 1024)
    for seq in range(10_000):
        outbox.append(make_event(seq, BASE_TS_MS + seq * 10))  # ~100 s of event time
    outbox.flush()
    assert list((tmp_path / "spool").iterdir()) == []
    scan = scan_ready(tmp_path)
    assert scan.ok, scan.summary()
    assert sorted(seq_of(e) for e in scan.events) == list(range(10_000))
    assert outbox.stats.published_events == 10_000
    assert len(scan.files) == outbox.stats.published_files > 2


def test_fsync_every_n_appends_and_before_publishing(tmp_path: Path) -> None:
    durable: list[int] = []
    outbox = make_outbox(tmp_path, fsync_every=10, on_durable=durable.append)
    for seq in range(25):
        outbox.append(make_event(seq, BASE_TS_MS))
    assert durable == [10, 20] and outbox.stats.fsyncs == 2
    outbox.flush()
    assert durable == [10, 20, 25]  # the last 5 are fsynced before the rename
    with pytest.raises(ValueError, match="fsync_every"):
        make_outbox(tmp_path / "x", fsync_every=0)


def test_rotates_when_the_minute_rolls_over(tmp_path: Path) -> None:
    outbox = make_outbox(tmp_path)
    outbox.append(make_event(0, BASE_TS_MS + 1_000))
    outbox.append(make_event(1, BASE_TS_MS + 59_999))
    assert list((tmp_path / "ready").iterdir()) == []  # nothing published within a minute
    outbox.append(make_event(2, BASE_TS_MS + MINUTE_MS))
    ready = sorted((tmp_path / "ready").iterdir())
    assert len(ready) == 1 and ready[0].read_text().count("\n") == 2
    outbox.append(make_event(3, BASE_TS_MS + 30_000))  # late event joins the open file
    outbox.close()
    files = [p.read_text().count("\n") for p in sorted((tmp_path / "ready").iterdir())]
    assert files == [2, 2]


def test_roll_publishes_a_finished_minute_without_a_new_event(tmp_path: Path) -> None:
    outbox = make_outbox(tmp_path)
    outbox.append(make_event(0, BASE_TS_MS + 5_000))
    outbox.roll(BASE_TS_MS + 59_999)
    assert list((tmp_path / "ready").iterdir()) == []
    outbox.roll(BASE_TS_MS + MINUTE_MS)
    assert [seq_of(e) for e in scan_ready(tmp_path).events] == [0]
    assert list((tmp_path / "spool").iterdir()) == []


def test_rotates_at_the_size_threshold(tmp_path: Path) -> None:
    outbox = make_outbox(tmp_path, max_file_bytes=10_000)
    for seq in range(100):
        outbox.append(make_event(seq, BASE_TS_MS))
    outbox.close()
    sizes = [p.stat().st_size for p in (tmp_path / "ready").iterdir()]
    assert len(sizes) > 3 and all(s < 10_000 + 1_000 for s in sizes), sizes
    assert sum(p.read_text().count("\n") for p in (tmp_path / "ready").iterdir()) == 100


def test_a_rename_that_fails_twice_then_succeeds(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace
    failures = {"left": 2, "seen": 0}

    def flaky_replace(src, dst):
        if str(dst).endswith(".jsonl") and failures["left"]:
            failures["left"] -= 1
            failures["seen"] += 1
            raise PermissionError(13, "sharing violation (injected)", str(src))
        return real_replace(src, dst)

    outbox = make_outbox(tmp_path, rename_delay_s=0.001)
    monkeypatch.setattr(os, "replace", flaky_replace)
    for seq in range(10):
        outbox.append(make_event(seq, BASE_TS_MS))
    outbox.flush()
    assert failures == {"left": 0, "seen": 2}
    assert outbox.stats.rename_failures == 0 and outbox.pending_files == []
    assert sorted(seq_of(e) for e in scan_ready(tmp_path).events) == list(range(10))


def test_a_rename_that_keeps_failing_stays_pending_then_publishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace
    broken = {"on": True}

    def broken_replace(src, dst):
        if broken["on"] and str(dst).endswith(".jsonl"):
            raise PermissionError(13, "sharing violation (injected)", str(src))
        return real_replace(src, dst)

    outbox = make_outbox(tmp_path, rename_attempts=2, rename_delay_s=0.001)
    monkeypatch.setattr(os, "replace", broken_replace)
    outbox.append(make_event(0, BASE_TS_MS))
    outbox.flush()
    assert len(outbox.pending_files) == 1 and outbox.stats.rename_failures == 2
    assert list((tmp_path / "ready").iterdir()) == []
    broken["on"] = False
    outbox.append(make_event(1, BASE_TS_MS))
    outbox.close()
    assert sorted(seq_of(e) for e in scan_ready(tmp_path).events) == [0, 1]


def test_close_raises_when_a_file_cannot_be_published(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace
    outbox = make_outbox(tmp_path, rename_attempts=1)
    monkeypatch.setattr(os, "replace", lambda s, d: (_ for _ in ()).throw(PermissionError(13, "x"))
                        if str(d).endswith(".jsonl") else real_replace(s, d))
    outbox.append(make_event(0, BASE_TS_MS))
    with pytest.raises(OutboxError, match="stay in"):
        outbox.close()
    monkeypatch.setattr(os, "replace", real_replace)
    recovered = make_outbox(tmp_path).recovery  # the next start publishes it
    assert recovered.published_files == 1 and recovered.events == 1


def test_recovery_publishes_complete_lines_and_drops_a_torn_tail(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir(parents=True)
    lines = [json.dumps(make_event(s, BASE_TS_MS)) for s in range(3)]
    (spool / "exec_a.part").write_text("\n".join(lines) + "\n" + lines[0][:40])
    (spool / "exec_b.part").write_text("")
    outbox = make_outbox(tmp_path)
    report = outbox.recovery
    assert (report.files, report.published_files, report.events, report.torn_lines,
            report.empty_files) == (2, 1, 3, 1, 1)
    assert list(spool.iterdir()) == []
    scan = scan_ready(tmp_path)
    assert scan.ok and sorted(seq_of(e) for e in scan.events) == [0, 1, 2]
    assert make_outbox(tmp_path).recovery.files == 0  # nothing published twice


def test_recovery_never_republishes_a_part_whose_twin_is_ready(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir(parents=True)
    (tmp_path / "ready").mkdir()
    line = json.dumps(make_event(0, BASE_TS_MS)) + "\n"
    (tmp_path / "ready" / "exec_x.jsonl").write_text(line)
    (tmp_path / "spool" / "exec_x.part").write_text(line)
    assert make_outbox(tmp_path).recovery.published_files == 0
    assert len(scan_ready(tmp_path).events) == 1


def test_reader_reports_invalid_duplicate_and_partial(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.mkdir()
    good = make_event(0, BASE_TS_MS)
    bad = dict(good, client_order_id="c1", qty="lots")
    (ready / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    (ready / "b.jsonl").write_text(json.dumps(good) + "\nnot json")
    (ready / "c.part").write_text("")
    scan = scan_ready(tmp_path)
    assert not scan.ok
    assert [(b.file, b.line) for b in scan.invalid] == [("a.jsonl", 2), ("b.jsonl", 2)]
    assert "$.qty" in scan.invalid[0].errors[0]
    assert scan.duplicates == [("c00000000", "submit")]
    assert scan.partial_files == ["b.jsonl"] and scan.stray_files == ["c.part"]
