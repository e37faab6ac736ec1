"""Time-series exporters: one file per store behind `base.TimeseriesExporter`."""

from __future__ import annotations

from typing import Any

from orchestrator.config import ConfigError
from orchestrator.exporters.base import ExportQueue, TimeseriesExporter


def make_exporter(timeseries: dict[str, Any], run_id: str,
                  secrets: dict[str, Any] | None = None) -> TimeseriesExporter | None:
    """The exporter `timeseries.type` names, or None for `none` / unset. `timeseries` is the
    whole section (`section(config, "timeseries")`: its defaults are config/defaults.yaml's)."""
    kind = (timeseries.get("type") or "none").lower()
    if kind == "none":
        return None
    url = timeseries.get("url") or ""
    if not url:
        raise ConfigError(f"timeseries.url (TIMESERIES_URL) is required for type {kind!r}")
    if kind == "prometheus":
        from orchestrator.exporters.pushgateway import PushgatewayExporter
        return PushgatewayExporter(url, run_id, job=timeseries["job"],
                                   timeout_s=float(timeseries["timeout_s"]))
    if kind == "influxdb":
        from orchestrator.exporters.influxdb import InfluxDBExporter
        return InfluxDBExporter(url, run_id, database=timeseries["database"],
                                username=timeseries.get("username") or None,
                                password=(secrets or {}).get("influxdb_password") or None,
                                timeout_s=float(timeseries["timeout_s"]))
    raise ConfigError(f"timeseries.type: {kind!r} is not one of prometheus, influxdb, none")


__all__ = ["ExportQueue", "TimeseriesExporter", "make_exporter"]
