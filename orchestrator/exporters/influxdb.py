"""Export to InfluxDB 1.x (`/write`, line protocol) through the `influxdb` client package.

Each point carries the minute's event time (ms precision) and the tags {run_id, symbol[,
reason]}, so writing a batch twice overwrites the same points: idempotent. Measurements are
listed in docs/report.md. InfluxDB 2.x's `/api/v2/write` is not used: Debian's InfluxDB 1.6
has none, and the 1.x `/write` endpoint is served by 2.x's compatibility API too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from influxdb import InfluxDBClient

from orchestrator.exporters.base import TimeseriesExporter, numeric_fields


class InfluxDBExporter(TimeseriesExporter):
    kind = "influxdb"

    def __init__(self, url: str, run_id: str, database: str, username: str | None,
                 password: str | None, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.database = database
        parsed = urlparse(self.url if "://" in self.url else f"http://{self.url}")
        self.client = InfluxDBClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8086,
            username=username or "root", password=password or "root", database=database,
            ssl=parsed.scheme == "https", verify_ssl=parsed.scheme == "https",
            timeout=timeout_s, retries=1)
        self._database_ready = False

    def check(self) -> None:
        self.client.ping()
        self._ensure_database()

    def _ensure_database(self) -> None:
        if not self._database_ready:
            self.client.create_database(self.database)   # a no-op when it exists
            self._database_ready = True

    def write(self, batch: dict[str, Any]) -> None:
        self._ensure_database()
        self.client.write_points(self.points(batch), time_precision="ms",
                                 database=self.database)

    def points(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        t = int(batch["minute_ms"])
        base = {"run_id": self.run_id}
        points = []
        for symbol, agg in batch["symbols"].items():
            tags = {**base, "symbol": symbol}
            points.append(_point("soak_per_minute", t, tags, {
                "total": int(agg["total"]), "confirm": int(agg["confirm"]),
                "strong": int(agg["strong"]), "strong_ratio": float(agg["strong_ratio"]),
                "low_consistency_share": float(agg["low_consistency_share"]),
                "partial": bool(batch.get("partial"))}))
            for reason, count in agg["gating_breakdown"].items():
                points.append(_point("soak_per_minute_gating", t, {**tags, "reason": reason},
                                     {"count": int(count)}))
        for symbol, totals in batch["run"].items():
            tags = {**base, "symbol": symbol}
            points.append(_point("soak_run", t, tags, {
                "total": int(totals["total"]), "confirm": int(totals["confirm"]),
                "strong": int(totals["strong"]),
                "strong_ratio": float(totals["strong_ratio"])}))
            for reason, count in totals["gating_breakdown"].items():
                points.append(_point("soak_gating_breakdown", t, {**tags, "reason": reason},
                                     {"count": int(count)}))
        for name in ("harvester", "executor", "export", "alerts"):
            fields = numeric_fields(batch.get(name))
            if fields:
                points.append(_point(f"soak_{name}", t, base, fields))
        return points

    def close(self) -> None:
        self.client.close()


def _point(measurement: str, t_ms: int, tags: dict[str, str],
           fields: dict[str, Any]) -> dict[str, Any]:
    return {"measurement": measurement, "time": t_ms, "tags": tags, "fields": fields}
