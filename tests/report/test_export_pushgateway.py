"""ReportEngine against a real Pushgateway: every closed minute readable, outage survived."""

from __future__ import annotations

import time

import pytest

from orchestrator.report.engine import ReportEngine
from pytest_soak_evidence.schemas import violations
from tests.report.helpers import SYMBOLS, T0, expected_minute, minute_signals

pytestmark = pytest.mark.services


def engine_for(config: dict, url: str, run_dir, run_id: str = "run-pg") -> ReportEngine:
    config["timeseries"].update(type="prometheus", url=url, backoff_initial_s=0.05,
                                backoff_max_s=0.2, timeout_s=1)
    return ReportEngine(config, run_dir, run_id)


def per_minute_values(pushgateway, run_id: str) -> dict[int, dict]:
    """{minute_ms: {symbol: {total, confirm, strong, gating}}} as read back from the store."""
    out: dict[int, dict] = {}
    for key, metrics in pushgateway.read_run(run_id).items():
        labels = dict(key)
        if "minute" not in labels:
            continue
        minute = out.setdefault(int(labels["minute"]), {})
        for name in ("total", "confirm", "strong"):
            for mlabels, value in metrics[f"soak_per_minute_{name}"]:
                minute.setdefault(mlabels["symbol"], {"gating": {}})[name] = int(value)
        for mlabels, value in metrics.get("soak_per_minute_gating", []):
            minute[mlabels["symbol"]]["gating"][mlabels["reason"]] = int(value)
    return out


def test_every_closed_minute_is_in_the_pushgateway_with_the_right_values(
        pushgateway, base_config, tmp_path):
    engine = engine_for(base_config, pushgateway.url, tmp_path)
    assert engine.export.precheck()
    for i in range(5):
        engine.ingest(minute_signals(i))
        engine.process_closed()
    assert engine.minutes_closed == 4                       # minute 4 is still open
    engine.process_closed(final=True)
    stored = per_minute_values(pushgateway, "run-pg")
    assert sorted(stored) == [T0 + i * 60_000 for i in range(5)]
    for i in range(5):
        assert stored[T0 + i * 60_000] == expected_minute(i)
    run_group = pushgateway.read_run("run-pg")[(("instance", "run"), ("job", "soak_report"),
                                                 ("run_id", "run-pg"))]
    totals = {labels["symbol"]: v for labels, v in run_group["soak_total"]}
    assert totals == {s: sum(expected_minute(i)[s]["total"] for i in range(5)) for s in SYMBOLS}
    assert all(0 <= v <= 1 for _, v in run_group["soak_strong_ratio"])
    section = engine.manifest_sections()["timeseries_export"]
    assert section["export_count"] == 5 and section["error_count"] == 0
    assert violations(section, "manifest/timeseries_export") == []
    assert pushgateway.delete_run("run-pg") == 6
    assert pushgateway.run_groups("run-pg") == []


def test_pushgateway_down_three_minutes_fires_and_resolves_export_alert(
        pushgateway, base_config, tmp_path):
    engine = engine_for(base_config, pushgateway.url, tmp_path, "run-outage")
    engine.export.precheck()
    for i in range(4):                                     # minutes 0-2 close and export
        engine.ingest(minute_signals(i))
        engine.process_closed()
    pushgateway.stop()
    outage_start_ms = int(time.time() * 1000)
    for i in range(4, 8):                                  # minutes 3-6 close while it is down
        engine.ingest(minute_signals(i))
        engine.process_closed()
        time.sleep(0.25)                                   # let the backoff expire: real retries
    [alert] = [a for a in engine.alerts.alerts() if a["rule"] == "export_failing"]
    assert alert["state"] == "firing"
    assert alert["fired_at_ms"] == T0 + 6 * 60_000         # end of the 3rd failing minute (5)
    section = engine.export.section()
    assert section["error_count"] >= 3 and section["backlog"] == 4
    assert all(t >= outage_start_ms for t in section["failures"])
    assert "Connection refused" in section["last_error"] or "Errno" in section["last_error"]

    pushgateway.start()                                    # same port, same persistence file
    time.sleep(0.25)
    for i in range(8, 10):
        engine.ingest(minute_signals(i))
        engine.process_closed()
    [alert] = [a for a in engine.alerts.alerts() if a["rule"] == "export_failing"]
    assert alert["state"] == "resolved" and alert["resolved_at_ms"] == T0 + 8 * 60_000
    stored = per_minute_values(pushgateway, "run-outage")
    assert sorted(stored) == [T0 + i * 60_000 for i in range(9)]   # every closed minute
    for i in range(9):
        assert stored[T0 + i * 60_000] == expected_minute(i)
    assert engine.export.section()["backlog"] == 0
    other = [a["rule"] for a in engine.alerts.alerts() if a["rule"] != "export_failing"]
    assert other == []
    assert violations(engine.alerts.alerts(), "manifest/alerts") == []
    pushgateway.delete_run("run-outage")


def test_unreachable_store_at_start_is_counted_not_fatal(base_config, tmp_path):
    from pytest_soak.services import free_port
    engine = engine_for(base_config, f"http://127.0.0.1:{free_port()}", tmp_path, "run-down")
    assert engine.export.precheck() is False
    engine.ingest(minute_signals(0) + minute_signals(1))
    assert engine.process_closed() == 1
    section = engine.export.section()
    assert section["reachable_at_start"] is False
    assert section["error_count"] >= 1 and section["export_count"] == 0
    assert section["backlog"] == 1
