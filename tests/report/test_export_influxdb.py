"""ReportEngine against a real InfluxDB 1.x: minutes, gating series and SLO figures read back."""

from __future__ import annotations

import pytest

from orchestrator.report.engine import ReportEngine
from tests.report.helpers import SYMBOLS, T0, expected_minute, minute_signals

pytestmark = pytest.mark.services


def test_closed_minutes_are_written_to_influxdb_idempotently(influxdb, base_config, tmp_path):
    (tmp_path / "status").mkdir()
    (tmp_path / "status" / "harvest.json").write_text(
        '{"manifest": {"harvester_metrics": {"queue_dropped": 0, "reconnect_count": 1,'
        ' "substream_timeout_detected": false}}}')
    base_config["timeseries"].update(type="influxdb", url=influxdb.url, database="soaktest")
    engine = ReportEngine(base_config, tmp_path, "run-ix")
    assert engine.export.precheck()
    sent: list[dict] = []
    submit = engine.export.submit
    engine.export.submit = lambda batch: (sent.append(batch), submit(batch))
    for i in range(4):
        engine.ingest(minute_signals(i))
        engine.process_closed()
    engine.process_closed(final=True)
    rows = influxdb.query("soaktest", "SELECT * FROM soak_per_minute WHERE run_id='run-ix'")
    got = {(r["time"], r["symbol"]): (r["total"], r["confirm"], r["strong"]) for r in rows}
    want = {(T0 + i * 60_000, s): tuple(expected_minute(i)[s][k]
                                        for k in ("total", "confirm", "strong"))
            for i in range(4) for s in SYMBOLS}
    assert got == want
    gating = influxdb.query("soaktest", "SELECT * FROM soak_per_minute_gating")
    got_gating = {(r["time"], r["symbol"], r["reason"]): r["count"] for r in gating}
    assert got_gating == {(T0 + i * 60_000, s, reason): n for i in range(4) for s in SYMBOLS
                          for reason, n in expected_minute(i)[s]["gating"].items()}
    harvester = influxdb.query("soaktest", "SELECT reconnect_count FROM soak_harvester")
    assert [r["reconnect_count"] for r in harvester] == [1.0] * 4
    # writing a batch again (a retry after an ambiguous failure) changes nothing
    engine.export.exporter.write(sent[1])
    again = influxdb.query("soaktest", "SELECT * FROM soak_per_minute WHERE run_id='run-ix'")
    assert again == rows
    assert engine.export.section()["export_count"] == 4
    assert engine.export.section()["error_count"] == 0

