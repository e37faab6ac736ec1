"""ReportEngine without a store: harvest counters drive data_drop, state survives a restart,
and the daily report counts every sink row."""

from __future__ import annotations

import json

from orchestrator.report.daily import build_report, harvester_slo
from orchestrator.report.engine import ReportEngine
from pytest_soak_evidence.schemas import violations
from tests.report.helpers import SYMBOLS, minute_signals


def write_harvest(run_dir, dropped: int) -> None:
    (run_dir / "status").mkdir(exist_ok=True)
    doc = {"manifest": {"harvester_metrics": {
        "queue_dropped": {"count": dropped, "timestamps_ms": []},
        "reconnect_count": {"count": 1, "timestamps_ms": []},
        "substream_timeout_detected": {"count": 0, "timestamps_ms": []}}}}
    (run_dir / "status" / "harvest.json").write_text(json.dumps(doc))


def make_engine(config, run_dir, run_id="run-e") -> ReportEngine:
    config["report"]["status_poll_s"] = 0.000001
    return ReportEngine(config, run_dir, run_id)


def test_queue_dropped_counter_record_fires_data_drop(base_config, tmp_path):
    engine = make_engine(base_config, tmp_path)
    write_harvest(tmp_path, 0)
    for i in range(3):
        engine.ingest(minute_signals(i))
        engine.process_closed()
    write_harvest(tmp_path, 4)
    engine.ingest(minute_signals(3))
    engine.process_closed()
    [alert] = engine.alerts.alerts()
    assert alert["rule"] == "data_drop" and alert["details"]["increase"] == 4
    engine.ingest(minute_signals(4))
    engine.process_closed()
    assert engine.alerts.alerts()[0]["state"] == "resolved"


def test_restart_resumes_state_and_counts_a_re_read_once(base_config, tmp_path):
    engine = make_engine(base_config, tmp_path)
    engine.ingest(minute_signals(0) + minute_signals(1))
    engine.process_closed()
    engine.save_state()
    resumed = make_engine(base_config, tmp_path)
    assert resumed.load_state()
    resumed.ingest(minute_signals(1))                      # re-read after the crash
    resumed.ingest(minute_signals(2))
    resumed.process_closed(final=True)
    totals = {s: a.total for s, a in resumed.run_totals.items()}
    want = {s: sum(1 for i in range(3) for r in minute_signals(i) if r["symbol"] == s)
            for s in SYMBOLS}
    assert totals == want
    assert resumed.aggregator.duplicate_records == len(minute_signals(1))
    assert not make_engine(base_config, tmp_path, "other-run").load_state()


def test_daily_report_counts_every_sink_row_and_validates(base_config, tmp_path):
    rows = [r for i in range(3) for r in minute_signals(i)]
    (tmp_path / "sinks").mkdir()
    with open(tmp_path / "sinks" / "signals.jsonl", "w") as sink:
        sink.writelines(json.dumps(r) + "\n" for r in rows)
        sink.write('{"torn": ')                            # a SIGKILLed writer's tail
    doc = build_report(run_dir=tmp_path, run_id="r", sink="jsonl", symbols=list(SYMBOLS),
                       tz_name="Asia/Tokyo", alerts=[], export={
                           "type": "none", "export_count": 0, "error_count": 0,
                           "last_error": None, "failures": []},
                       harvester={}, slo={"max_queue_dropped": 0, "max_reconnect_count": 3})
    assert violations(doc, "daily_report") == []
    assert doc["totals"]["total"] == len(rows) and doc["sink_read"]["torn"] == 1
    assert sum(m["total"] for m in doc["per_minute"]) == len(rows)
    assert doc["harvester_slo"]["verdict"] == "unknown"    # no harvest figures: not a pass


def test_harvester_slo_verdicts():
    slo = {"max_queue_dropped": 0, "max_reconnect_count": 3}
    ok = harvester_slo({"queue_dropped": {"count": 0}, "reconnect_count": 3,
                        "substream_timeout_detected": False}, slo)
    assert ok["verdict"] == "pass"
    bad = harvester_slo({"queue_dropped": 0, "reconnect_count": 4,
                         "substream_timeout_detected": {"count": 0}}, slo)
    assert bad["verdict"] == "fail" and bad["checks"]["reconnect_count"] is False


def test_live_wall_clock_closes_minutes_during_a_feed_pause(base_config, tmp_path):
    engine = make_engine(base_config, tmp_path)
    engine.ingest(minute_signals(0))
    last = max(r["ts_ms"] for r in minute_signals(0))
    engine.advance_wall_clock(last + 60_000)               # < minute end + 10 s + 30 s
    assert engine.process_closed() == 0
    minute0_end = minute_signals(0)[0]["ts_ms"] // 60_000 * 60_000 + 60_000
    engine.advance_wall_clock(minute0_end + 3 * 60_000 + 40_000)   # paused 3 minutes
    assert engine.process_closed() == 4                    # minute 0 + three empty minutes
    [alert] = engine.alerts.alerts()
    assert alert["rule"] == "no_data" and alert["state"] == "firing"
