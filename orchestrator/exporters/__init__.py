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
    if kind == "influxdb" and timeseries["api"] == "v2":
        return _influxdb_v2(timeseries, url, run_id, secrets or {})
    if kind == "influxdb":
        from orchestrator.exporters.influxdb import InfluxDBExporter
        return InfluxDBExporter(url, run_id, database=timeseries["database"],
                                username=timeseries.get("username") or None,
                                password=(secrets or {}).get("influxdb_password") or None,
                                timeout_s=float(timeseries["timeout_s"]))
    raise ConfigError(f"timeseries.type: {kind!r} is not one of prometheus, influxdb, none")



def _influxdb_v2(timeseries: dict[str, Any], url: str, run_id: str,
                 secrets: dict[str, Any]) -> TimeseriesExporter:
    token = secrets.get("influxdb_token")
    if not token:     # a 2.x server refuses every write without one: say so at start
        raise ConfigError(f"timeseries.token_env: {timeseries['token_env']} is not set "
                          "(timeseries.api v2 needs the InfluxDB 2.x token there)")
    from orchestrator.exporters.influxdb_v2 import InfluxDBV2Exporter
    return InfluxDBV2Exporter(url, run_id, org=timeseries["org"], bucket=timeseries["bucket"],
                              token=token, timeout_s=float(timeseries["timeout_s"]))


__all__ = ["ExportQueue", "TimeseriesExporter", "make_exporter"]
