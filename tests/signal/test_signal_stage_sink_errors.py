"""The stage keeps a batch its sink refused (SQLite locked past its retries), reports it, does
not commit the market offset past it, and delivers it once the lock is gone."""

import logging
import sqlite3

from orchestrator.handoff import HandoffWriter
from orchestrator.signal.stage import SignalStage
from orchestrator.stage import StageContext
from pytest_soak_evidence.sinks import read_jsonl_signals, read_sqlite_signals
from tests.signal.market_events import steady_market

CONFIG = {"signal": {"checkpoint_interval_ms": 0},
          "sinks": {"sqlite_busy_timeout_ms": 0, "sqlite_lock_retries": 1,
                    "sqlite_retry_delay_ms": 1}}


def make_stage(run_dir):
    ctx = StageContext(name="signal", run_dir=run_dir, run_id="t", config=CONFIG, sink="dual",
                       replay_mode=True, supervisor_pid=None, log=logging.getLogger("t"))
    stage = SignalStage(ctx)
    stage.setup()
    return stage


def test_locked_sqlite_batch_is_kept_reported_and_delivered_later(tmp_path):
    writer = HandoffWriter(tmp_path / "handoff" / "market")
    for record in steady_market(10):
        writer.append(record)
    writer.close()
    stage = make_stage(tmp_path)
    blocker = sqlite3.connect(tmp_path / "sinks" / "signals.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    stage.step()
    metrics = stage.metrics()
    assert metrics["pending_batch"] is True and "stayed locked" in metrics["sink_error"]
    assert not (tmp_path / "handoff" / "market" / "signal.offset.json").exists()
    assert stage.step() is False                        # still locked: no progress, no loss
    blocker.execute("ROLLBACK")
    blocker.close()
    stage.step()
    assert stage.metrics()["pending_batch"] is False and stage.metrics()["sink_error"] is None
    stage.flush()
    stage.close()
    assert (tmp_path / "handoff" / "market" / "signal.offset.json").exists()
    jsonl, _ = read_jsonl_signals(tmp_path / "sinks" / "signals.jsonl")
    sqlite, _ = read_sqlite_signals(tmp_path / "sinks" / "signals.sqlite")
    assert len(jsonl) == len(sqlite) == 40
    section = stage.manifest_sections()["signal_metrics"]
    assert section["sink_errors"] == 2 and section["rows_written"] == 40


def test_unreadable_checkpoint_is_set_aside_not_fatal(tmp_path):
    checkpoint = tmp_path / "state" / "signal_checkpoint.json"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_text('{"engine": {"version": 1, "symbols": {}}, "totals": {}}')
    stage = make_stage(tmp_path)                       # an older layout: must not crash-loop
    assert stage.totals["restarts"] == 0
    assert not checkpoint.exists()
    assert (tmp_path / "state" / "signal_checkpoint.json.unreadable").exists()
    stage.close()
