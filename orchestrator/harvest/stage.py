"""HarvestStage: Binance USDⓈ-M market streams -> the durable handoff topic `market`.

The asyncio reader (see harvester.py) runs on its own thread; `step()` drains the bounded
queue into `handoff/market/` (orchestrator.handoff.HandoffWriter: an append-only JSON-lines
log, so a SIGKILLed harvest loses nothing it had appended and the signal stage resumes from
its own committed offset).
"""

from __future__ import annotations

from orchestrator.handoff import HandoffWriter
from orchestrator.harvest.harvester import Harvester
from orchestrator.harvest.recorder import FrameRecorder
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.stage import Stage


class HarvestStage(Stage):
    name = "harvest"

    def setup(self) -> None:
        self.settings = HarvestSettings.from_config(self.ctx.config)
        h = self.settings.harvest
        self.writer = HandoffWriter(self.ctx.run_dir / "handoff" / "market",
                                    fsync_every=int(h["fsync_every"]))
        self.recorder = (FrameRecorder(self.ctx.run_dir / "recordings") if h["record"] else None)
        self.harvester = Harvester(self.settings, self.writer, self.log, self.recorder)
        self.drain_max = int(h["drain_max_per_step"])
        self.harvester.start()

    def step(self) -> bool:
        return self.harvester.drain(self.drain_max) > 0

    def flush(self) -> None:
        """Stop reading, move everything queued into the handoff, fsync."""
        self.harvester.stop()
        while self.harvester.drain(self.drain_max):
            pass
        self.writer.flush()
        if self.recorder is not None:
            self.recorder.flush()

    def close(self) -> None:
        self.writer.close()
        if self.recorder is not None:
            self.recorder.close()

    def is_ready(self) -> bool:
        return bool(getattr(self, "harvester", None)) and self.harvester.open_connections > 0

    def last_event_ms(self) -> int | None:
        return self.harvester.newest_event_ms if hasattr(self, "harvester") else None

    def metrics(self) -> dict:
        if not hasattr(self, "harvester"):
            return {}
        return {**self.harvester.counts(), "events_out": self.harvester.events_out,
                "queue_len": len(self.harvester.queue),
                "open_connections": self.harvester.open_connections,
                "books_in_sync": {s: b.synced for s, b in self.harvester.books.items()}}

    def manifest_sections(self) -> dict:
        if not hasattr(self, "harvester"):
            return {}
        return {"harvester_metrics": harvester_metrics(self.harvester)}


def harvester_metrics(harvester: Harvester) -> dict:
    """The run_manifest section (schemas/manifest/harvester_metrics.schema.json)."""
    return {**harvester.counter_sections(),
            "events_out": harvester.events_out,
            "queue_max": harvester.queue_max,
            "queue_depth": harvester.depth_peaks.section(),
            "stream_rate_limit_per_s": harvester.limit.per_s,
            "queue_dropped_by_cause": harvester.drops_by_cause(),
            "substream_timeouts_by_stream": harvester.stream_timeouts(),
            "aggtrade_ids": {s: dict(v) for s, v in harvester.aggtrade_ids.ids.items()},
            "books_in_sync": {s: b.synced for s, b in harvester.books.items()}}
