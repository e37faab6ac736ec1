"""Export to a Prometheus Pushgateway through prometheus_client (never hand-written text).

Two kinds of group, each pushed with PUT (replace), so re-pushing a batch is idempotent:
- per minute: {job, run_id, minute=<minute start ms>}: soak_per_minute_* {symbol[, reason]}
  (a Pushgateway keeps only the last push of a group, so each minute is its own group and
  every closed minute stays readable);
- run: {job, run_id, instance="run"}: cumulative totals, the last closed minute, harvester SLO,
  executor metrics and export health (what Prometheus alerting rules evaluate).
Series names are listed in docs/report.md.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from orchestrator.exporters.base import TimeseriesExporter, numeric_fields

_NAME_BAD = re.compile(r"[^a-zA-Z0-9_]")


def metric_suffix(key: str) -> str:
    return _NAME_BAD.sub("_", key).lower()


class PushgatewayExporter(TimeseriesExporter):
    kind = "prometheus"

    def __init__(self, url: str, run_id: str, job: str, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.job = job
        self.timeout_s = timeout_s

    def _http_url(self) -> str:
        return self.url if "://" in self.url else f"http://{self.url}"

    def check(self) -> None:
        response = requests.get(f"{self._http_url()}/-/ready", timeout=self.timeout_s)
        response.raise_for_status()

    def write(self, batch: dict[str, Any]) -> None:
        self._push(self._minute_registry(batch), {"minute": str(batch["minute_ms"])})
        self._push(self._run_registry(batch), {"instance": "run"})

    def _push(self, registry: CollectorRegistry, grouping: dict[str, str]) -> None:
        push_to_gateway(self.url, job=self.job, registry=registry,
                        grouping_key={"run_id": self.run_id, **grouping},
                        timeout=self.timeout_s)

    @staticmethod
    def _minute_registry(batch: dict[str, Any]) -> CollectorRegistry:
        reg = CollectorRegistry()
        per = {name: Gauge(f"soak_per_minute_{name}", f"signals {name} in one minute of event "
                           "time", ["symbol"], registry=reg)
               for name in ("total", "confirm", "strong", "strong_ratio",
                            "low_consistency_share")}
        gating = Gauge("soak_per_minute_gating", "signals per gating reason in one minute",
                       ["symbol", "reason"], registry=reg)
        partial = Gauge("soak_per_minute_partial", "1 if the minute was cut short by shutdown",
                        registry=reg)
        partial.set(1.0 if batch.get("partial") else 0.0)
        for symbol, agg in batch["symbols"].items():
            for name, gauge in per.items():
                gauge.labels(symbol).set(agg[name])
            for reason, count in agg["gating_breakdown"].items():
                gating.labels(symbol, reason).set(count)
        return reg

    @staticmethod
    def _run_registry(batch: dict[str, Any]) -> CollectorRegistry:
        reg = CollectorRegistry()
        run = {name: Gauge(f"soak_{name}", f"signals {name} over the run's closed minutes",
                           ["symbol"], registry=reg)
               for name in ("total", "confirm", "strong", "strong_ratio")}
        gating = Gauge("soak_gating_breakdown", "signals per gating reason over the run",
                       ["symbol", "reason"], registry=reg)
        for symbol, totals in batch["run"].items():
            for name, gauge in run.items():
                gauge.labels(symbol).set(totals[name])
            for reason, count in totals["gating_breakdown"].items():
                gating.labels(symbol, reason).set(count)
        last = {name: Gauge(f"soak_last_minute_{name}", f"{name} of the last closed minute",
                            ["symbol"], registry=reg)
                for name in ("total", "strong", "low_consistency", "strong_ratio")}
        for symbol, agg in batch["symbols"].items():
            for name, gauge in last.items():
                gauge.labels(symbol).set(agg[name])
        Gauge("soak_last_minute_start_ms", "event time of the last closed minute",
              registry=reg).set(batch["minute_ms"])
        for prefix, values in (("soak_harvester_", batch.get("harvester")),
                               ("soak_executor_", batch.get("executor")),
                               ("soak_alert_", batch.get("alerts")),
                               ("soak_export_", batch.get("export"))):
            for key, value in numeric_fields(values).items():
                Gauge(prefix + metric_suffix(key), f"{prefix}{key}", registry=reg).set(value)
        return reg
