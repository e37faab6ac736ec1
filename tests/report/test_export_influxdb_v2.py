"""ReportEngine through the InfluxDB 2.x write API (`timeseries.api: v2`, influxdb-client)
against a real VictoriaMetrics: every closed minute read back, idempotent, an outage retried
and counted by the ExportQueue; the token sent as the 2.x API wants and never recorded."""

from __future__ import annotations

import http.server
import json
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest

from orchestrator.config import ConfigError
from orchestrator.report.engine import ReportEngine
from pytest_soak.checks.store_view import store_view
from pytest_soak_evidence.schemas import violations
from tests.report.helpers import SYMBOLS, T0, expected_minute, minute_signals

pytestmark = pytest.mark.services
TOKEN = "tok-v2-not-for-files"
MINUTE = 60_000


def engine_for(config: dict, url: str, run_dir, run_id: str) -> ReportEngine:
    config["timeseries"].update(type="influxdb", api="v2", url=url, org="team", bucket="soak",
                                backoff_initial_s=0.05, backoff_max_s=0.2, timeout_s=1)
    config["secrets"]["influxdb_token"] = TOKEN
    return ReportEngine(config, run_dir, run_id)


def per_minute(series: list[dict]) -> dict[int, dict]:
    """{minute_ms: {symbol: {total, confirm, strong, gating}}} from VictoriaMetrics' export
    (field f of measurement m is the series m_f)."""
    out: dict[int, dict] = {}
    fields = {f"soak_per_minute_{k}": k for k in ("total", "confirm", "strong")}
    for s in series:
        labels, name = s["metric"], s["metric"]["__name__"]
        if name not in fields and name != "soak_per_minute_gating_count":
            continue
        for t, value in zip(s["timestamps"], s["values"], strict=True):
            entry = out.setdefault(t, {}).setdefault(labels["symbol"], {"gating": {}})
            if name in fields:
                entry[fields[name]] = int(value)
            else:
                entry["gating"][labels["reason"]] = int(value)
    return out


def run_minutes(engine: ReportEngine, minutes: range, pause_s: float = 0.0) -> None:
    for i in minutes:
        engine.ingest(minute_signals(i))
        engine.process_closed()
        time.sleep(pause_s)                      # let the backoff expire: real retries


def test_closed_minutes_go_through_the_v2_api_and_read_back(victoria_metrics, base_config,
                                                            tmp_path):
    engine = engine_for(base_config, victoria_metrics.url, tmp_path, "run-v2")
    assert engine.export.precheck()
    sent: list[dict] = []
    submit = engine.export.submit
    engine.export.submit = lambda batch: (sent.append(batch), submit(batch))
    run_minutes(engine, range(4))
    engine.process_closed(final=True)
    series = victoria_metrics.read_run("run-v2")
    assert per_minute(series) == {T0 + i * MINUTE: expected_minute(i) for i in range(4)}
    assert {label for s in series for label in s["metric"]} == {
        "__name__", "run_id", "symbol", "reason"}              # org and bucket are no labels
    view = store_view(victoria_metrics.readback("run-v2"))     # what D4 compares
    assert view["total"] == {s: sum(expected_minute(i)[s]["total"] for i in range(4))
                             for s in SYMBOLS}
    assert sorted(view["exports"]) == [T0 + i * MINUTE for i in range(4)]
    section = engine.export.section()
    assert section["export_count"] == 4 and section["error_count"] == 0
    assert violations(section, "manifest/timeseries_export") == []
    # a batch written again (a retry after an ambiguous failure) changes no value
    engine.export.exporter.write(sent[1])
    assert per_minute(victoria_metrics.read_run("run-v2")) == per_minute(series)


def test_an_outage_is_retried_and_counted_by_the_export_queue(victoria_metrics, base_config,
                                                              tmp_path):
    engine = engine_for(base_config, victoria_metrics.url, tmp_path, "run-v2-outage")
    engine.export.precheck()
    run_minutes(engine, range(3))                         # minutes 0-1 close and export
    victoria_metrics.stop()
    down_ms = int(time.time() * 1000)
    run_minutes(engine, range(3, 6), pause_s=0.25)        # minutes 2-4 close while it is down
    section = engine.export.section()
    assert section["error_count"] >= 3 and section["backlog"] == 3
    assert len(section["failures"]) == section["error_count"]
    assert all(t >= down_ms for t in section["failures"])
    assert TOKEN not in json.dumps(engine.export.state_dict())
    victoria_metrics.start()                              # same port, same storage
    time.sleep(0.25)
    run_minutes(engine, range(6, 7))
    assert engine.export.section()["backlog"] == 0
    stored = per_minute(victoria_metrics.read_run("run-v2-outage"))
    assert stored == {T0 + i * MINUTE: expected_minute(i) for i in range(6)}


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, dict, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.path, dict(self.headers), body.decode()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002 - keep the test output clean
        pass


def test_the_write_is_the_2x_api_with_org_bucket_and_token(base_config, tmp_path):
    """What goes on the wire, as an InfluxDB 2.x server would see it (VictoriaMetrics checks
    no token, so a loopback recorder stands in for the check)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = engine_for(base_config, f"http://127.0.0.1:{server.server_port}", tmp_path,
                            "run-wire")
        run_minutes(engine, range(2))
    finally:
        server.shutdown()
        server.server_close()
    [(path, headers, body)] = _Recorder.seen
    url = urlparse(path)
    assert url.path == "/api/v2/write"
    assert parse_qs(url.query) == {"org": ["team"], "bucket": ["soak"], "precision": ["ms"]}
    assert headers["Authorization"] == f"Token {TOKEN}"
    want = expected_minute(0)["BTCUSDT"]
    [line] = [x for x in body.splitlines()
              if x.startswith("soak_per_minute,run_id=run-wire,symbol=BTCUSDT ")]
    assert f"total={want['total']}i" in line and line.endswith(f" {T0}")   # ms precision
    assert TOKEN not in json.dumps(engine.export.section())


def test_v2_without_a_token_is_a_config_error_naming_the_variable(base_config, tmp_path):
    base_config["timeseries"].update(type="influxdb", api="v2", url="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="timeseries.token_env: INFLUX_TOKEN"):
        ReportEngine(base_config, tmp_path, "run-no-token")
