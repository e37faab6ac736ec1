"""The broker stage as a real process: SIGKILL mid-run, restart, graceful stop; every
confirmed signal ends with exactly one outcome in ready/, none submitted twice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.broker.core import client_order_id
from orchestrator.handoff import HandoffWriter
from pytest_soak_evidence.outbox import scan_ready
from pytest_soak_evidence.schemas import validate
from tests.broker.broker_signals import BASE_TS_MS, make_signal

REPO = Path(__file__).resolve().parents[2]


def _signals(start: int, count: int) -> list[dict]:
    return [make_signal(i, ts_ms=BASE_TS_MS + i * 150, side="buy" if i % 3 else "sell",
                        confirm=i % 4 != 0, symbol="BTCUSDT" if i % 2 else "ETHUSDT",
                        mid_px=90000.05 if i % 2 else 3012.345)
            for i in range(start, start + count)]


def _publish(run_dir: Path, rows: list[dict]) -> None:
    writer = HandoffWriter(run_dir / "handoff" / "signals")
    for row in rows:
        writer.append(row)
    writer.close()


class BrokerProcess:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.run_dir / "broker.test.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.stage_main", "broker", "--config",
             str(REPO / "config" / "defaults.yaml"), "--run-dir", str(self.run_dir),
             "--run-id", "broker-test"], stdout=log, stderr=log, cwd=REPO)
        log.close()

    def status(self) -> dict:
        try:
            return json.loads((self.run_dir / "status" / "broker.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def wait_for(self, predicate, what: str, timeout_s: float = 30) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.run_dir / "broker.test.log").read_text()
            status = self.status()
            if status.get("pid") == self.proc.pid and predicate(status):
                return status
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; status={self.status()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def broker_process(tmp_path: Path):
    process = BrokerProcess(tmp_path)
    yield process
    process.stop()


@pytest.mark.slow  # two broker processes, a SIGKILL, a graceful stop: ~6 s
def test_sigkill_restart_and_graceful_stop_keep_one_order_per_signal(
        broker_process: BrokerProcess, tmp_path: Path) -> None:
    first, second = _signals(0, 400), _signals(400, 200)
    _publish(tmp_path, first)
    broker_process.start()
    broker_process.wait_for(lambda s: s["metrics"].get("signals_read", 0) >= 200, "progress")
    broker_process.stop()  # SIGKILL mid-run: part file left in spool/, offset behind
    _publish(tmp_path, first[150:] + second)  # at-least-once re-delivery plus new signals
    broker_process.start()
    status = broker_process.wait_for(
        lambda s: s["metrics"].get("signals_read", 0) + s["metrics"].get(
            "duplicates_skipped", 0) > 0 and s["last_event_ms"] == second[-1]["ts_ms"],
        "the last signal")
    (tmp_path / "control").mkdir(exist_ok=True)
    (tmp_path / "control" / "broker.stop").touch()
    assert broker_process.proc.wait(timeout=20) == 0

    scan = scan_ready(tmp_path / "outbox")
    assert scan.ok, scan.summary()
    assert scan.spool_files == []
    terminal = Counter(e["client_order_id"] for e in scan.events
                       if e["event"] in ("fill", "reject"))
    submits = Counter(e["client_order_id"] for e in scan.events if e["event"] == "submit")
    confirmed = {client_order_id(s) for s in first + second if s["confirm"]}
    assert set(terminal) == confirmed and set(terminal.values()) == {1}
    assert set(submits.values()) == {1}
    assert status["metrics"]["orders_known_at_start"] > 0
    assert status["metrics"]["duplicates_skipped"] > 0  # the re-delivered signals

    final = broker_process.status()
    assert final["state"] == "stopped"
    executor_metrics = final["manifest"]["executor_metrics"]
    validate(executor_metrics, "manifest/executor_metrics")
    found = Counter(e["event"] for e in scan.events)  # the counts reconcile across restarts
    assert (executor_metrics["orders"], executor_metrics["fills"], executor_metrics["rejects"]) \
        == (found["submit"], found["fill"], found["reject"])
    metrics_file = json.loads((tmp_path / "metrics" / "broker.json").read_text())
    assert metrics_file["outbox"]["published_events"] == final["metrics"]["outbox"][
        "published_events"]
    assert "executor_submit_total" in metrics_file["prometheus_exposition"]


def test_drain_mode_trades_signals_committed_after_the_broker_stopped(tmp_path: Path) -> None:
    """The supervisor's broker finaliser: signals the signal stage committed after the broker
    had stopped (default shutdown order) are still traded, once each, and the finaliser's
    status file carries the final executor metrics."""
    early, late = _signals(0, 120), _signals(120, 80)
    _publish(tmp_path, early)
    drain = [sys.executable, "-m", "orchestrator.stage_main", "broker", "--drain", "--config",
             str(REPO / "config" / "defaults.yaml"), "--run-dir", str(tmp_path),
             "--run-id", "broker-test"]
    assert subprocess.run(drain, cwd=REPO, capture_output=True, timeout=60).returncode == 0
    _publish(tmp_path, late)
    assert subprocess.run(drain, cwd=REPO, capture_output=True, timeout=60).returncode == 0

    scan = scan_ready(tmp_path / "outbox")
    assert scan.ok and scan.spool_files == [], scan.summary()
    terminal = Counter(e["client_order_id"] for e in scan.events
                       if e["event"] in ("fill", "reject"))
    assert set(terminal) == {client_order_id(s) for s in early + late if s["confirm"]}
    assert set(terminal.values()) == {1}
    status = json.loads((tmp_path / "status" / "broker_finalize.json").read_text())
    assert status["state"] == "stopped"
    assert status["manifest"]["executor_metrics"]["fills"] + status["manifest"][
        "executor_metrics"]["rejects"] == len(terminal)
