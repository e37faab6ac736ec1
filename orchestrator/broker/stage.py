"""BrokerStage: `signals` handoff -> Broker (paper executor) -> outbox, then commit.

Per step: read a batch of signal records and turn each into contract events in the outbox.
At most every `commit_interval_ms`, and at flush, the outbox is fsynced before the `signals`
offset is committed, so a committed signal always has its events on disk; after a SIGKILL the
re-read signals are recognised by their client_order_id (see core.py) and not submitted again.
The broker's metrics go to the status file, to the `executor_metrics` manifest section and,
atomically, to `metrics/broker.json` for the report stage.
"""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.broker.config import broker_section, outbox_section
from orchestrator.broker.core import Broker, BrokerSettings
from orchestrator.handoff import HandoffReader
from orchestrator.outbox import Outbox, outbox_settings
from orchestrator.stage import Stage, now_ms
from pytest_soak_evidence.atomic import write_json_atomic

CONSUMER = "broker"
METRICS_INTERVAL_S = 1.0
DRAIN_BUDGET_S = 2.0     # at stop, keep reading signals already in the topic this long at most


def metrics_path(run_dir: Path) -> Path:
    return run_dir / "metrics" / "broker.json"


def outbox_from_config(run_dir: Path, section: dict) -> Outbox:
    return Outbox(run_dir / "outbox", **outbox_settings(section))


class BrokerStage(Stage):
    name = "broker"

    def setup(self) -> None:
        run_dir = self.ctx.run_dir
        section = broker_section(self.ctx.config)
        self.batch_max_records = int(section["batch_max_records"])
        self.commit_interval_s = float(section["commit_interval_ms"]) / 1000.0
        self.outbox = outbox_from_config(run_dir, outbox_section(self.ctx.config))
        self.broker = Broker(BrokerSettings.from_config(section), self.outbox)
        self.reader = HandoffReader(run_dir / "handoff" / "signals", CONSUMER)
        self._uncommitted = False
        self._next_commit = 0.0
        self._next_metrics = 0.0
        self._last_signal_ms: int | None = None
        self.log.info("broker ready: %d orders already in the outbox, recovery %s",
                      len(self.broker.done), self.outbox.recovery)

    def step(self) -> bool:
        did_work = self._process_batch()
        now = time.monotonic()
        if self._uncommitted and now >= self._next_commit:
            self._commit()
            self._next_commit = now + self.commit_interval_s
        if now >= self._next_metrics:
            self.write_metrics_file(durable=False)
            self._next_metrics = now + METRICS_INTERVAL_S
        return did_work

    def _process_batch(self) -> bool:
        records = self.reader.read(self.batch_max_records)
        for record in records:
            self.broker.handle(record)
            ts_ms = record.get("ts_ms") if isinstance(record, dict) else None
            if isinstance(ts_ms, int):
                self._last_signal_ms = max(ts_ms, self._last_signal_ms or ts_ms)
        if self._last_signal_ms is not None:
            self.outbox.roll(self._last_signal_ms)  # the minute is over for every signal, too
        self._uncommitted |= bool(records)
        return bool(records)

    def _commit(self) -> None:
        self.outbox.sync()       # events durable before the input position moves past them
        self.reader.commit()
        self._uncommitted = False

    def flush(self) -> None:
        # The signal stage stops after the broker: take what it has written so far.
        deadline = time.monotonic() + DRAIN_BUDGET_S
        while time.monotonic() < deadline and self._process_batch():
            pass
        self.outbox.flush()      # publish everything to ready/
        if self._uncommitted:
            self.reader.commit()
            self._uncommitted = False
        self.write_metrics_file(durable=True)

    def close(self) -> None:
        self.outbox.close()

    # ---- reporting ------------------------------------------------------------------------
    def last_event_ms(self) -> int | None:
        return self._last_signal_ms

    def executor_metrics(self) -> dict:
        broker, outbox = self.broker, self.outbox
        totals = broker.metrics.totals
        return {
            "executor_submit_total": totals["submit_total"],
            "executor_throttle_total": totals["throttle_total"],
            "executor_latency_ms": broker.metrics.latency_summary(),
            "signals_read": totals["signals_read"],
            "signals_eligible": totals["signals_eligible"],
            "orders": broker.written["submit"], "fills": broker.written["fill"],
            "rejects": broker.written["reject"],
            "rejects_by_reason": dict(broker.rejects_by_reason),
            "retries": totals["retries"], "executor_errors": totals["executor_errors"],
            "duplicates_skipped": totals["duplicates_skipped"],
            "resumed_orders": totals["resumed_orders"],
            "orders_known_at_start": broker.known_at_start,
            "malformed_signals": broker.malformed_signals,
            "invalid_events": broker.invalid_events,
            "outbox": {
                "appended_events": outbox.stats.appended,
                "published_files": outbox.stats.published_files,
                "published_events": outbox.stats.published_events,
                "fsyncs": outbox.stats.fsyncs,
                "rename_failures": outbox.stats.rename_failures,
                "pending_files": len(outbox.pending_files),
                "recovered_files": outbox.recovery.published_files,
                "recovered_events": outbox.recovery.events,
                "torn_lines_dropped": outbox.recovery.torn_lines,
            },
        }

    def metrics(self) -> dict:
        return self.executor_metrics()

    def manifest_sections(self) -> dict:
        return {"executor_metrics": self.executor_metrics()}

    def write_metrics_file(self, durable: bool) -> None:
        doc = {"stage": "broker", "updated_ms": now_ms(), **self.executor_metrics(),
               "prometheus_exposition": self.broker.metrics.exposition()}
        write_json_atomic(metrics_path(self.ctx.run_dir), doc, durable=durable)
