"""Export to InfluxDB 1.x (`/write`, line protocol) through the `influxdb` client package.

The points are `points.minute_points` (shared with the 2.x exporter, influxdb_v2.py), so
writing a batch twice overwrites the same points: idempotent. `timeseries.api: v1` (the
default) selects this one: Debian's InfluxDB 1.6 has no `/api/v2/write`, and 2.x serves the
1.x `/write` through its compatibility API too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from influxdb import InfluxDBClient

from orchestrator.exporters.base import TimeseriesExporter
from orchestrator.exporters.points import minute_points


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
        self.client.write_points(minute_points(batch, self.run_id), time_precision="ms",
                                 database=self.database)

    def close(self) -> None:
        self.client.close()

