"""VictoriaMetrics (Debian `victoria-metrics`) as the InfluxDB 2.x stand-in: `--soak-timeseries
influxdb-v2`. Debian has no InfluxDB 2.x; VictoriaMetrics accepts the 2.x write API
(`/api/v2/write?org=&bucket=`, line protocol, 204) and reads it back (`/api/v1/export`), so
the pipeline's v2 exporter is soaked against a real server (docs/soak.md, "Time-series store").

What it does with what it is sent (VictoriaMetrics 1.79, measured; /work/shared/SERVICES.md):
- a field `f` of measurement `m` becomes the series `m_f`, the tags its labels; org and bucket
  are accepted and ignored, and so is the token (it checks none);
- samples older than `-retentionPeriod` (default 1 month) or more than 2 days ahead of its
  clock (fixed, not a flag) are dropped, logged as a warning, and the write still answers
  204. A soak's minutes are stamped from the session's wall start onwards (the replay feed's
  re-stamping) up to a day or so ahead in REPLAY, a recording's may lie in the past: so the
  retention here is 100 years (its maximum) and the future limit is what it is;
- new samples become searchable only after its in-memory buffers are flushed (about a second;
  `/internal/force_flush` asks for it), and queries hide the newest 30 s unless
  `-search.latencyOffset=0s`. `-search.cacheTimestampOffset` only concerns the query-range
  response cache, which the export API used here does not use.
It binds 127.0.0.1 only: every listener other than `-httpListenAddr` (graphite, opentsdb,
influx UDP/TCP) is off by default.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from pytest_soak.services import ServiceError, _Server

RETENTION = "100y"                 # its maximum: a recording's minutes may be years old
FUTURE_LIMIT_MS = 2 * 86_400_000   # its fixed limit: samples further ahead are dropped
SETTLE_S = 1.0                     # its flush interval: a read this long after another


class VictoriaMetricsServer(_Server):
    """victoria-metrics on a free loopback port with its storage in its own work dir."""

    binary = "victoria-metrics"
    ready_path = "/health"

    def command(self) -> list[str]:
        return [self.binary, f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}",
                f"-retentionPeriod={RETENTION}", "-search.latencyOffset=0s"]

    @classmethod
    def at(cls, url: str) -> VictoriaMetricsServer:
        """A handle on one already running at URL (--soak-timeseries-url): read-back only."""
        server = cls.__new__(cls)
        server.port = int(url.rstrip("/").rsplit(":", 1)[1])
        return server

    def force_flush(self) -> None:
        requests.get(self.url + "/internal/force_flush", timeout=10).raise_for_status()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every raw sample of the series MATCH selects, any time: one {"metric", "values",
        "timestamps" (ms)} per series. `end` lies past its future limit: by default the
        export stops at now, and a REPLAY soak's minutes run ahead of the wall clock."""
        end_s = (time.time() * 1000 + FUTURE_LIMIT_MS) / 1000 + 60
        response = requests.post(self.url + "/api/v1/export", timeout=30,
                                 data={"match[]": match, "start": "0", "end": f"{end_s:.0f}"})
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def read_run(self, run_id: str, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        """The run's series once the store has settled: flushed, then read until two reads a
        flush interval apart agree (a write still in its buffers shows up between them)."""
        match = f"{{run_id={json.dumps(run_id)}}}"     # a JSON string is a PromQL one
        deadline = time.monotonic() + timeout_s
        previous: list[dict[str, Any]] | None = None
        while True:
            self.force_flush()
            series = sorted(self.export(match), key=lambda s: json.dumps(s["metric"],
                                                                           sort_keys=True))
            if series and series == previous:
                return series
            if time.monotonic() > deadline:
                if series:
                    return series
                raise ServiceError(f"victoria-metrics on {self.url} holds no series of run "
                                   f"{run_id} after {timeout_s:g} s")
            previous = series
            time.sleep(SETTLE_S)

    def readback(self, run_id: str) -> dict[str, Any]:
        """observations.store.readback for D4 (store_view reads the "export" shape)."""
        return {"store": self.binary, "api": "v2", "export": self.read_run(run_id)}

