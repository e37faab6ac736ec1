"""SIGKILL a writer process at random points; recovery loses nothing fsynced, doubles nothing."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_soak_evidence.outbox import scan_ready
from tests.outbox.contract_events import make_outbox, seq_of

WRITER = Path(__file__).with_name("crash_writer.py")
TRIALS = 20


def _durable_count(progress: Path) -> int:
    lines = progress.read_text().split("\n")
    complete = [int(x) for x in lines[:-1] if x]  # the last line may itself be torn
    return max(complete, default=0)


def _run_and_kill(root: Path, progress: Path, rng: random.Random) -> None:
    fsync_every = rng.choice([1, 7, 50, 500])
    max_bytes = rng.choice([20_000, 200_000, 10 * 1024 * 1024])
    log = open(root.parent / f"{root.name}.log", "wb")
    proc = subprocess.Popen([sys.executable, str(WRITER), str(root), str(progress),
                             str(fsync_every), str(max_bytes)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while not (progress.exists() and progress.stat().st_size):
            assert proc.poll() is None, (root.parent / f"{root.name}.log").read_text()
            assert time.monotonic() < deadline, "writer did not start"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.25))
    finally:
        proc.kill()  # SIGKILL on POSIX
        proc.wait(timeout=10)
        log.close()


def _tear_unsynced_tail(root: Path, durable: int) -> bool:
    """Cut the open part file inside its last line, as a power cut after the last fsync would."""
    parts = sorted((root / "spool").glob("*.part"))
    if not parts:
        return False
    data = parts[-1].read_bytes()
    published = len(scan_ready(root, validate=False).events)
    if data.count(b"\n") + published <= durable:
        return False  # every line there was fsynced: a power cut keeps it
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    parts[-1].write_bytes(data[: start + (len(data) - start) // 2])
    return True


def _killed_mid_line(root: Path) -> bool:
    """SIGKILL itself can tear the tail: the writer's buffer reaches the OS in buffer-sized
    writes, which need not end at a line boundary."""
    parts = sorted((root / "spool").glob("*.part"))
    data = parts[-1].read_bytes() if parts else b""
    return bool(data) and not data.endswith(b"\n")


def _assert_ready_whole_and_valid(root: Path, validate: bool = True) -> list[int]:
    scan = scan_ready(root, validate=validate)
    assert scan.ok, scan.summary()
    seqs = sorted(seq_of(e) for e in scan.events)
    assert len(seqs) == len(set(seqs)), "an event was published twice"
    return seqs


@pytest.mark.slow  # 20 writer processes killed and recovered: ~8 s
def test_sigkill_at_random_points_then_recovery(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    torn_seen = 0
    for trial in range(TRIALS):
        root, progress = tmp_path / f"t{trial}", tmp_path / f"t{trial}.progress"
        _run_and_kill(root, progress, rng)
        durable = _durable_count(progress)
        before = _assert_ready_whole_and_valid(root, validate=False)  # visible at crash time
        killed_mid_line = _killed_mid_line(root)
        torn = trial % 2 == 1 and _tear_unsynced_tail(root, durable)
        recovery = make_outbox(root).recovery
        assert recovery.torn_lines == int(torn or killed_mid_line), f"seed={seed} trial={trial}"
        torn_seen += recovery.torn_lines
        after = _assert_ready_whole_and_valid(root)
        assert set(before) <= set(after)
        assert list((root / "spool").glob("*.part")) == [], f"seed={seed} trial={trial}"
        # Events are appended in order, so what survives is a prefix 0..n-1 with n >= durable.
        assert after == list(range(len(after))), f"gap after recovery, seed={seed} t={trial}"
        assert len(after) >= durable, f"lost fsynced events, seed={seed} trial={trial}"
        assert make_outbox(root).recovery.files == 0  # a second start publishes nothing again
        assert _assert_ready_whole_and_valid(root, validate=False) == after
    assert torn_seen > 0, "no trial exercised a torn tail"
    print(f"seed={seed} torn lines dropped over {TRIALS} trials: {torn_seen}")
