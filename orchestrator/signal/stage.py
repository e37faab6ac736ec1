"""SignalStage: market handoff -> SignalEngine -> sinks -> `signals` handoff, then commit.

Per step: read a batch of market records into the reorder buffer (reorder.py: event-time
order across harvest's connections), compute the signal rows of the records it releases,
commit them to the sink(s), append them to the `signals` topic, and (at most every
checkpoint_interval_ms, and at flush) write the engine's state checkpoint and commit the market
offset, in that order. The offset committed is that of the oldest record still held, so after a
SIGKILL the stage restores the checkpoint and re-reads from there: held records come back,
released ones are skipped by id, and the rows it derives again are identical (same input, same
state) and the sinks skip them by row_id. A graceful stop releases everything held, in order.
The `signals` topic is at-least-once across a SIGKILL: consumers dedupe on row_id.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from orchestrator.handoff import HandoffReader, HandoffWriter
from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from orchestrator.signal.reorder import ReorderBuffer
from orchestrator.sinks import Sink, SinkUnavailable, open_sink, sink_settings
from orchestrator.sinks.base import encode_row
from orchestrator.stage import Stage
from pytest_soak_evidence.atomic import replace_with_retry, write_bytes_atomic, write_json_atomic
from pytest_soak_evidence.sinks import sinks_dir

CONSUMER = "signal"
CHECKPOINT_NAME = "signal_checkpoint.json"
RUNTIME_STATE_NAME = "runtime_state.json"
RUNTIME_STATE_INTERVAL_S = 1.0


def checkpoint_path(run_dir: Path) -> Path:
    return run_dir / "state" / CHECKPOINT_NAME


def runtime_state_path(run_dir: Path) -> Path:
    return run_dir / RUNTIME_STATE_NAME


class SignalStage(Stage):
    name = "signal"

    def setup(self) -> None:
        run_dir = self.ctx.run_dir
        self.cfg = SignalConfig.from_section(self.ctx.config.get("signal"))
        self.sink_cfg = sink_settings(self.ctx.config.get("sinks"))
        self.engine = SignalEngine(self.cfg, "replay" if self.ctx.replay_mode else "live")
        self.totals = {"rows_written": 0, "duplicates_skipped": 0, "sink_errors": 0,
                       "batches": 0, "restarts": 0}
        # the idle release is a LIVE rule: a REPLAY run is released by event time alone, so a
        # stall of harvest's whole process can never reorder it (docs/signals.md)
        idle_ms = None if self.ctx.replay_mode else self.cfg.reorder_idle_release_ms
        self.reorder = ReorderBuffer(self.cfg.reorder_lateness_ms, self.cfg.reorder_max_events,
                                     idle_ms)
        self._restore(checkpoint_path(run_dir))
        self.reader = HandoffReader(run_dir / "handoff" / "market", CONSUMER)
        self.writer = HandoffWriter(run_dir / "handoff" / "signals")
        self.sink: Sink = open_sink(self.ctx.sink, sinks_dir(run_dir), self.sink_cfg)
        self.sink_error: str | None = None
        self._pending: tuple[list[dict], list[str]] | None = None
        self._uncommitted = False
        self._next_checkpoint = 0.0
        self._next_runtime_state = 0.0

    def _restore(self, path: Path) -> None:
        """Load the checkpoint; an unreadable one (corrupt, older layout) is set aside, not
        fatal: the stage then starts cold from the committed offset (warmup gating again)."""
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            engine = SignalEngine(self.cfg, self.engine.mode)
            engine.load_state(state["engine"])
            totals = {**self.totals, **state["totals"]}
            reorder_counters = dict(state["reorder"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = path.with_name(path.name + ".unreadable")
            replace_with_retry(path, aside)
            self.log.error("signal checkpoint %s is unreadable (%s: %s); moved to %s, starting "
                           "cold from the committed offset", path, type(exc).__name__, exc, aside)
            return
        self.engine, self.totals = engine, totals
        self.reorder.load_counters(reorder_counters)
        self.totals["restarts"] += 1
        self.log.info("restored the signal checkpoint %s (last event %s)", path,
                      self.engine.last_event_ms)

    # ---- loop ---------------------------------------------------------------------------
    def step(self) -> bool:
        if self._pending is not None and not self._deliver(*self._pending):
            return False
        records = self.reader.read_positioned(self.cfg.batch_max_records)
        for position, record in records:
            self.reorder.add(position, record)
        released = []
        if records or len(self.reorder):
            # a short read is the end of what harvest appended: the idle rule may apply
            released = self.reorder.release(
                caught_up=len(records) < self.cfg.batch_max_records)
        if records or released:
            self._uncommitted = True
            self._deliver(*self._compute(released))
        now = time.monotonic()
        if self._uncommitted and self._pending is None and now >= self._next_checkpoint:
            self._checkpoint()
            self._next_checkpoint = now + self.cfg.checkpoint_interval_ms / 1000.0
        if now >= self._next_runtime_state:
            write_json_atomic(runtime_state_path(self.ctx.run_dir), self.runtime_state(),
                              durable=False)
            self._next_runtime_state = now + RUNTIME_STATE_INTERVAL_S
        return bool(records or released)

    def _compute(self, records: list[dict]) -> tuple[list[dict], list[str]]:
        rows = [row for row in map(self.engine.process, records) if row is not None]
        return rows, [encode_row(row) for row in rows]

    def _deliver(self, rows: list[dict], lines: list[str]) -> bool:
        """Sinks first, then the signals topic; on a sink failure keep the batch for later."""
        if rows:
            try:
                new = self.sink.write_batch(rows, lines)
            except SinkUnavailable as exc:
                self._pending = (rows, lines)
                self.totals["sink_errors"] += 1
                self.sink_error = str(exc)
                self.log.error("%s", exc)
                return False
            self.totals["rows_written"] += new
            self.totals["duplicates_skipped"] += len(rows) - new
            for line in lines:
                self.writer.append_raw(line)
        self._pending = None
        self.sink_error = None
        self.totals["batches"] += 1
        return True

    def _checkpoint(self) -> None:
        """Durable signals topic, then the engine state, then the market offset."""
        self.writer.flush()
        state = {"engine": self.engine.to_state(), "totals": self.totals,
                 "reorder": self.reorder.counters}
        # compact: the checkpoint is rewritten up to once per checkpoint_interval_ms
        data = json.dumps(state, separators=(",", ":")).encode("utf-8")
        write_bytes_atomic(checkpoint_path(self.ctx.run_dir), data)
        self.reader.commit(self.reorder.commit_position(self.reader.position))
        self._uncommitted = False

    def _deliver_pending(self) -> bool:
        for _ in range(3):
            if self._pending is None or self._deliver(*self._pending):
                return True
            time.sleep(0.2)
        return False

    def flush(self) -> None:
        """Release what the reorder buffer holds (in order), deliver, checkpoint. With a sink
        still failing nothing more is released: the held records stay uncommitted."""
        if self._deliver_pending() and len(self.reorder):
            self._pending = self._compute(self.reorder.flush())
            self._uncommitted = True
            self._deliver_pending()
        if self._pending is None and self._uncommitted:
            self._checkpoint()
        write_json_atomic(runtime_state_path(self.ctx.run_dir), self.runtime_state())

    def close(self) -> None:
        try:
            self.sink.close()
        finally:
            self.writer.close()

    # ---- reporting ----------------------------------------------------------------------
    def last_event_ms(self) -> int | None:
        return self.engine.last_event_ms if hasattr(self, "engine") else None

    def runtime_state(self) -> dict:
        return {**self.engine.runtime_state(), "sink": self.ctx.sink,
                "updated_wall_ms": int(time.time() * 1000)}

    def metrics(self) -> dict:
        counters = self.engine.counters
        return {
            "events_in": {k: counters[k] for k in ("aggTrade", "bookTicker", "depthUpdate")},
            "signals": counters["signals"], "malformed": counters["malformed"],
            "rows_written": self.totals["rows_written"], "pending_batch": self._pending is not None,
            "sink_error": self.sink_error, "runtime_state": self.engine.runtime_state(),
            "event_order": self.event_order(),
        }

    def event_order(self) -> dict:
        """The reorder buffer's figures and the depth settle rule's counters."""
        counters = self.engine.counters
        return {**self.reorder.metrics(), "depth_settle_ms": self.cfg.depth_settle_ms,
                "trade_gap_settle_ms": self.cfg.trade_gap_settle_ms,
                **{k: counters[k] for k in ("depth_breaks", "depth_slow_resyncs",
                                            "depth_settling_skipped", "trade_gaps",
                                            "trade_slow_gaps", "gap_skipped")}}

    def manifest_sections(self) -> dict:
        counters = self.engine.counters
        sink_metrics = self.sink.metrics()
        return {"signal_metrics": {
            "sink": self.ctx.sink,
            "aggtrade_ids": self.engine.aggtrade_ids,
            "events_in": {k: counters[k] for k in ("aggTrade", "bookTicker", "depthUpdate")},
            "malformed_count": counters["malformed"],
            "replayed_skipped": counters["replayed_skipped"],
            "signals_emitted": counters["signals"],
            "rows_written": self.totals["rows_written"],
            "duplicates_skipped": self.totals["duplicates_skipped"],
            "torn_lines": sum(m["torn_lines"] for m in sink_metrics.values()),
            "sink_errors": self.totals["sink_errors"],
            "restarts": self.totals["restarts"],
            "gating_counts": dict(self.engine.gating_counts),
            "event_order": self.event_order(),
            "sinks": sink_metrics,
            "runtime_state_path": RUNTIME_STATE_NAME,
        }}
