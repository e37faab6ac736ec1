"""Report stage figures: signals/s folded into minutes (engine, no store) and the wall time of
one closed minute's export to a real Pushgateway and InfluxDB. Medians of 5 rounds."""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator.config import load_config
from orchestrator.report.engine import ReportEngine
from pytest_soak.services import InfluxDBServer, PushgatewayServer

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_763_700_000_000
REASONS = ("ok", "warmup", "low_consistency", "wide_spread")


def signals(n: int) -> list[dict]:
    return [{"ts_ms": T0 + i * 20, "symbol": ("BTCUSDT", "ETHUSDT")[i % 2], "row_id": f"r{i}",
             "confirm": i % 2 == 0, "strong": i % 7 == 0, "gating": REASONS[i % 4]}
            for i in range(n)]


def engine(kind: str = "none", url: str = "") -> ReportEngine:
    config = load_config(ROOT / "config" / "defaults.yaml", env={})
    config["timeseries"].update(type=kind, url=url)
    # nothing is written: the benchmark never saves engine state
    return ReportEngine(config, Path(tempfile.gettempdir()) / "bench-report", "bench")


def ingest_rate() -> float:
    rows = signals(200_000)
    rates = []
    for _ in range(5):
        e = engine()
        start = time.perf_counter()
        e.ingest(rows)
        e.process_closed(final=True)
        rates.append(len(rows) / (time.perf_counter() - start))
    return statistics.median(rates)


def export_ms(kind: str, server) -> float:
    e = engine(kind, server.url)
    e.export.precheck()
    e.ingest(signals(3_000 * 20))                   # 20 minutes
    closed = e.aggregator.close_all()
    times = []
    for minute in closed:
        batch = e.batch(minute)
        start = time.perf_counter()
        e.export.exporter.write(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    print(json.dumps({"metric": "report_ingest_signals_per_s", "value": round(ingest_rate()),
                      "unit": "signals/s", "bar": 30000}))
    with PushgatewayServer() as pg:
        print(json.dumps({"metric": "report_export_minute_pushgateway_ms",
                          "value": round(export_ms("prometheus", pg), 2), "unit": "ms",
                          "bar": 200}))
    with InfluxDBServer() as ix:
        print(json.dumps({"metric": "report_export_minute_influxdb_ms",
                          "value": round(export_ms("influxdb", ix), 2), "unit": "ms",
                          "bar": 200}))


if __name__ == "__main__":
    main()
