"""Export to InfluxDB 2.x's `/api/v2/write` (org, bucket, token) through `influxdb-client`,
the maintained 2.x client package. `timeseries.api: v2` selects it.

The points are `points.minute_points`, the 1.x exporter's, so both APIs store the same series.
Writes are synchronous and the client's own retries are off: retries, backoff and failure
counting are the ExportQueue's (base.py), as for every store. The token comes from the
variable `timeseries.token_env` names (orchestrator/config.py puts it in `secrets`, which
every written file has redacted); it is sent only in the Authorization header, never logged,
and never part of `url` (which the manifest records).
"""

from __future__ import annotations

from typing import Any

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from orchestrator.exporters.base import TimeseriesExporter
from orchestrator.exporters.points import minute_points


class InfluxDBV2Exporter(TimeseriesExporter):
    kind = "influxdb"

    def __init__(self, url: str, run_id: str, org: str, bucket: str, token: str,
                 timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.org, self.bucket = org, bucket
        self.client = InfluxDBClient(url=self.url if "://" in self.url else f"http://{self.url}",
                                     token=token, org=org, timeout=int(timeout_s * 1000),
                                     retries=False)
        self.write_api = self.client.write_api(write_options=SYNCHRONOUS)

    def check(self) -> None:
        # GET /ping (InfluxDB 2.x and VictoriaMetrics answer 204); the client says False
        # rather than raising when the store is down
        if not self.client.ping():
            raise ConnectionError(f"{self.url}/ping did not answer")

    def write(self, batch: dict[str, Any]) -> None:
        self.write_api.write(bucket=self.bucket, org=self.org,
                             record=minute_points(batch, self.run_id),
                             write_precision=WritePrecision.MS)

    def close(self) -> None:
        self.write_api.close()
        self.client.close()
