"""The report stage: reads the `signals` handoff topic, closes minutes of event time, evaluates
the alert rules and exports each closed minute to the time-series store.

The daily reports are written by `orchestrator.report.finalize`, which the supervisor runs
once after every stage has stopped, so they cover every committed signal.
"""

from __future__ import annotations

import time

from orchestrator.config import ConfigError
from orchestrator.handoff import HandoffReader
from orchestrator.report.engine import ReportEngine
from orchestrator.stage import Stage

SIGNALS_TOPIC = "signals"
CONSUMER = "report"


class ReportStage(Stage):
    name = "report"

    def setup(self) -> None:
        ctx = self.ctx
        try:
            self.engine = ReportEngine(ctx.config, ctx.run_dir, ctx.run_id, ctx.log)
        except ConfigError as exc:
            ctx.log.error("config error: %s", exc)
            raise SystemExit(2) from exc
        self.engine.load_state()
        self.reader = HandoffReader(ctx.run_dir / "handoff" / SIGNALS_TOPIC, CONSUMER)
        self.engine.export.precheck()

    def step(self) -> bool:
        records = self.reader.read(int(self.engine.cfg["read_batch"]))
        self.engine.ingest(records)
        if not self.ctx.replay_mode:
            self.engine.advance_wall_clock(int(time.time() * 1000))
        if self.engine.process_closed():
            self._persist()
        return bool(records)

    def flush(self) -> None:
        # Open minutes stay open: finalize (or a restarted stage) closes them.
        self.engine.export.pump(force=True)
        self._persist()

    def close(self) -> None:
        if self.engine.export.exporter is not None:
            self.engine.export.exporter.close()

    def _persist(self) -> None:
        self.engine.save_state()      # state first: a crash in between only re-reads records
        self.reader.commit()

    def metrics(self) -> dict:
        return {**self.engine.metrics(), "torn_lines": self.reader.torn_lines,
                "bad_lines": self.reader.bad_lines}

    def manifest_sections(self) -> dict:
        return self.engine.manifest_sections()

    def last_event_ms(self) -> int | None:
        return self.engine.aggregator.watermark_ms
