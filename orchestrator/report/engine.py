"""The report logic without a process around it: signals in -> closed minutes -> alerts and
time-series batches out. ReportStage (the long-running stage) and finalize (the one-shot
run after all stages stopped) both drive a ReportEngine.

Restart safety: the engine state (open minutes with their row_ids, alert state machines,
export counters and unsent batches) is saved to `state/report.json` BEFORE the handoff
position is committed, so a killed report stage re-reads at most what it had not saved, and
row_id de-duplication makes that re-read harmless.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from orchestrator.config import section
from orchestrator.exporters import ExportQueue, make_exporter
from orchestrator.exporters.base import figure
from orchestrator.report.aggregates import ClosedMinute, MinuteAggregate, MinuteAggregator
from orchestrator.report.alerts import AlertEngine
from pytest_soak_evidence.atomic import write_json_atomic

STATE_FILE = Path("state") / "report.json"


def read_json_or_none(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class ReportEngine:
    def __init__(self, config: dict[str, Any], run_dir: Path, run_id: str,
                 log: logging.Logger | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = run_id
        self.log = log or logging.getLogger("orchestrator.report")
        self.cfg = section(config, "report")
        self.ts_cfg = section(config, "timeseries")
        symbols = section(config, "run")["symbols"]
        self.aggregator = MinuteAggregator(symbols, int(float(self.cfg["lateness_s"]) * 1000))
        self.alerts = AlertEngine(self.cfg["alerts"], tz=self.cfg["tz"])
        exporter = make_exporter(self.ts_cfg, run_id, config.get("secrets"))
        self.export = ExportQueue(exporter, float(self.ts_cfg["backoff_initial_s"]),
                                  float(self.ts_cfg["backoff_max_s"]),
                                  int(self.ts_cfg["max_backlog"]))
        self.run_totals: dict[str, MinuteAggregate] = {}
        self.minutes_closed = 0
        self.last_closed: dict[str, Any] | None = None
        self._status_cache: dict[str, tuple[float, Any]] = {}

    # ---- inputs ----------------------------------------------------------------------------
    def ingest(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.aggregator.add(record)

    def harvester_metrics(self) -> dict[str, Any]:
        doc = self._status("status/harvest.json") or {}
        found = (doc.get("manifest") or {}).get("harvester_metrics")
        return found if isinstance(found, dict) else (doc.get("metrics") or {})

    def executor_metrics(self) -> dict[str, Any]:
        doc = self._status("metrics/broker.json")
        if isinstance(doc, dict):
            return doc
        status = self._status("status/broker.json") or {}
        found = (status.get("manifest") or {}).get("executor_metrics")
        return found if isinstance(found, dict) else {}

    def _status(self, rel: str) -> Any:
        """Another stage's file, read at most every status_poll_s."""
        now = time.monotonic()
        cached = self._status_cache.get(rel)
        if cached and now - cached[0] < float(self.cfg["status_poll_s"]):
            return cached[1]
        doc = read_json_or_none(self.run_dir / rel)
        self._status_cache[rel] = (now, doc)
        return doc

    def advance_wall_clock(self, now_ms: int) -> None:
        """LIVE mode only (event time ~ wall time): with no signal at all, e.g. during a feed
        pause, minutes still close once the wall clock passed them by live_wall_clock_close_s,
        so no_data fires during the pause instead of after it. The margin covers a restarted
        signal stage catching up, whose signals would otherwise arrive late."""
        margin_ms = int(float(self.cfg["live_wall_clock_close_s"]) * 1000)
        if margin_ms > 0:
            self.aggregator.advance(now_ms - margin_ms)

    # ---- processing ------------------------------------------------------------------------
    def process_closed(self, final: bool = False) -> int:
        """Close what is due (everything when final), export it, evaluate the alerts."""
        closed = self.aggregator.close_all() if final else self.aggregator.close_ready()
        if not closed:
            self.export.pump()
            return 0
        dropped = figure(self.harvester_metrics().get("queue_dropped"))
        queue_dropped = None if dropped is None else int(dropped)
        for minute in closed:           # one at a time: each batch carries ITS alert baseline
            self._account(minute)
            self.export.submit(self.batch(minute))
            self.export.pump()
            if not minute.partial:       # a cut-short last minute would look like a collapse
                self.alerts.on_minute(minute.combined, export_failing=self.export.failing,
                                      queue_dropped=queue_dropped)
        return len(closed)

    def _account(self, minute: ClosedMinute) -> None:
        for symbol, agg in minute.by_symbol.items():
            self.run_totals.setdefault(symbol, MinuteAggregate(symbol, 0)).merge(agg)
        self.minutes_closed += 1
        combined = minute.combined.to_dict()
        self.last_closed = {**combined, "partial": minute.partial}

    def batch(self, minute: ClosedMinute) -> dict[str, Any]:
        run = {s: {k: v for k, v in a.to_dict().items() if k not in ("symbol", "minute_ms")}
               for s, a in sorted(self.run_totals.items())}
        return {"minute_ms": minute.minute_ms, "partial": minute.partial,
                "symbols": {s: a.to_dict() for s, a in minute.by_symbol.items()},
                "run": run, "harvester": self.harvester_metrics(),
                "executor": self.executor_metrics(),
                "alerts": self.alert_gauges(),
                "export": {"count": self.export.export_count,
                           "errors": self.export.error_count,
                           "backlog": len(self.export.backlog),
                           "minutes_closed": self.minutes_closed}}

    def alert_gauges(self) -> dict[str, Any]:
        """What the Prometheus rules need to behave exactly like the engine (collapse
        baseline) and what dashboards show (each rule's state: 0 inactive, 1 pending, 2 firing).
        """
        median = self.alerts.baseline.median()
        out: dict[str, Any] = {"strong_ratio_baseline_minutes": len(self.alerts.baseline.ratios),
                               # 0 while unknown: below min_baseline_ratio, so never evaluable
                               "strong_ratio_baseline_median": median or 0.0}
        levels = {"inactive": 0, "pending": 1, "firing": 2}
        for name, state in self.alerts.states.items():
            out[f"{name}_state"] = levels[state.state]
        return out

    def final_export(self) -> None:
        """Shutdown: keep retrying the backlog for up to finalize_export_timeout_s."""
        deadline = time.monotonic() + float(self.cfg["finalize_export_timeout_s"])
        while self.export.backlog and time.monotonic() < deadline:
            if not self.export.pump(max_batches=1000, force=True):
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    # ---- outputs ---------------------------------------------------------------------------
    def manifest_sections(self) -> dict[str, Any]:
        return {"timeseries_export": self.export.section(), "alerts": self.alerts.alerts()}

    def metrics(self) -> dict[str, Any]:
        agg = self.aggregator
        return {"records": agg.records, "late_records": agg.late_records,
                "duplicate_records": agg.duplicate_records, "bad_records": agg.bad_records,
                "minutes_closed": self.minutes_closed, "watermark_ms": agg.watermark_ms,
                "open_minutes": len(agg.open), "last_closed_minute": self.last_closed,
                "alerts_firing": [a["rule"] for a in self.alerts.history
                                  if a["state"] == "firing"],
                "export_count": self.export.export_count,
                "export_error_count": self.export.error_count,
                "export_backlog": len(self.export.backlog)}

    # ---- persistence -----------------------------------------------------------------------
    def save_state(self) -> None:
        agg = self.aggregator
        doc = {"run_id": self.run_id, "watermark_ms": agg.watermark_ms,
               "next_minute_ms": agg.next_minute_ms, "symbols": sorted(agg.symbols),
               "counters": {"records": agg.records, "late_records": agg.late_records,
                            "duplicate_records": agg.duplicate_records,
                            "bad_records": agg.bad_records},
               "open": [a.to_dict() for bucket in agg.open.values() for a in bucket.values()],
               "seen_row_ids": {str(m): sorted(ids) for m, ids in agg.seen_row_ids.items()},
               "run_totals": [a.to_dict() for a in self.run_totals.values()],
               "minutes_closed": self.minutes_closed, "last_closed": self.last_closed,
               "alerts": self.alerts.state_dict(), "export": self.export.state_dict()}
        write_json_atomic(self.run_dir / STATE_FILE, doc)

    def load_state(self) -> bool:
        doc = read_json_or_none(self.run_dir / STATE_FILE)
        if not isinstance(doc, dict) or doc.get("run_id") != self.run_id:
            return False
        agg = self.aggregator
        agg.watermark_ms, agg.next_minute_ms = doc["watermark_ms"], doc["next_minute_ms"]
        agg.symbols.update(doc.get("symbols", []))
        for key, value in (doc.get("counters") or {}).items():
            setattr(agg, key, int(value))
        for item in doc.get("open", []):
            a = MinuteAggregate.from_dict(item)
            agg.open.setdefault(a.minute_ms, {})[a.symbol] = a
        agg.seen_row_ids = {int(m): set(ids) for m, ids in doc.get("seen_row_ids", {}).items()}
        self.run_totals = {a["symbol"]: MinuteAggregate.from_dict(a)
                           for a in doc.get("run_totals", [])}
        self.minutes_closed = int(doc.get("minutes_closed", 0))
        self.last_closed = doc.get("last_closed")
        self.alerts.load_state(doc.get("alerts") or {})
        self.export.load_state(doc.get("export") or {})
        self.log.info("resumed report state: %d minutes closed, %d alerts, %d batches unsent",
                      self.minutes_closed, len(self.alerts.history), len(self.export.backlog))
        return True

