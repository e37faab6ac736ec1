"""Parity recomputed from the sinks: equal sinks, a dropped row, a missing minute, a torn line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.sinks import JsonlSink, SqliteSink, jsonl_settings, sqlite_settings
from pytest_soak_evidence.parity import compute_parity, diff_pct, write_parity
from pytest_soak_evidence.schemas import load_validated
from tests.sinks.signal_rows import T0, make_row

MINUTE = 60_000


def rows_over_minutes(minutes: int, per_minute: int = 40) -> list[dict]:
    """per_minute rows each minute; every 4th strong, every 2nd confirmed."""
    out = []
    for m in range(minutes):
        for k in range(per_minute):
            i = m * per_minute + k
            out.append(make_row(i, ts_ms=T0 + m * MINUTE + k * 1000))
    return out


def fill(run_dir: Path, jsonl_rows: list[dict], sqlite_rows: list[dict]) -> Path:
    sinks = run_dir / "sinks"
    for sink, rows in ((JsonlSink(sinks / "signals.jsonl", **jsonl_settings()), jsonl_rows),
                       (SqliteSink(sinks / "signals.sqlite", **sqlite_settings()), sqlite_rows)):
        sink.write_batch(rows)
        sink.close()
    return run_dir


def test_diff_pct():
    assert diff_pct(0, 0) == 0.0
    assert diff_pct(200, 199) == pytest.approx(0.5)
    assert diff_pct(0.25, 0.2) == pytest.approx(20.0)


def test_identical_sinks_have_zero_diff(tmp_path):
    rows = rows_over_minutes(3)
    doc = compute_parity(fill(tmp_path, rows, rows))
    assert doc["comparable"] and doc["within_tolerance"]
    assert doc["max_diff_pct"] == 0.0
    assert doc["totals"]["jsonl"] == {"total": 120, "confirm": 60, "strong": 30,
                                      "strong_ratio": 0.25}
    assert doc["window"] == {"start_minute_ms": T0, "end_minute_ms": T0 + 2 * MINUTE,
                             "minutes": 3, "missing_in_jsonl": [], "missing_in_sqlite": []}
    assert [m["minute_ms"] for m in doc["per_minute"]] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]


def test_a_dropped_row_gives_the_right_figures(tmp_path):
    rows = rows_over_minutes(3)
    dropped = rows[44]                                      # minute 1, a confirmed strong row
    assert dropped["confirm"] and dropped["strong"]
    doc = compute_parity(fill(tmp_path, rows, [r for r in rows if r is not dropped]))
    assert doc["totals"]["sqlite"] == {"total": 119, "confirm": 59, "strong": 29,
                                       "strong_ratio": 29 / 119}
    assert doc["diff_pct"]["total"] == pytest.approx(100 / 120)
    assert doc["diff_pct"]["confirm"] == pytest.approx(100 / 60)
    assert doc["diff_pct"]["strong_ratio"] == pytest.approx((0.25 - 29 / 119) / 0.25 * 100)
    minute1 = doc["per_minute"][1]
    assert minute1["sqlite"]["total"] == 39
    assert minute1["diff_pct"]["total"] == pytest.approx(2.5)
    assert doc["per_minute"][0]["diff_pct"] == {"total": 0.0, "confirm": 0.0, "strong_ratio": 0.0}
    assert doc["row_ids"]["only_in_jsonl"] == 1
    assert doc["row_ids"]["sample_only_in_jsonl"] == [dropped["row_id"]]
    assert minute1["diff_pct"]["strong_ratio"] == pytest.approx((0.25 - 9 / 39) / 0.25 * 100)
    assert doc["max_diff_pct"] == pytest.approx(minute1["diff_pct"]["strong_ratio"])
    assert doc["within_tolerance"] is False


def test_a_missing_minute_and_window_alignment(tmp_path):
    rows = rows_over_minutes(4)
    last_minute = T0 + 3 * MINUTE
    sqlite_rows = [r for r in rows if r["ts_ms"] < last_minute]   # sqlite lacks the last minute
    middle = T0 + MINUTE
    jsonl_rows = [r for r in rows if not middle <= r["ts_ms"] < middle + MINUTE]
    doc = compute_parity(fill(tmp_path, jsonl_rows, sqlite_rows))
    assert doc["sinks"]["jsonl"]["first_minute_ms"] == T0
    assert doc["sinks"]["jsonl"]["last_minute_ms"] == last_minute
    assert doc["sinks"]["sqlite"]["last_minute_ms"] == T0 + 2 * MINUTE
    assert doc["window"]["start_minute_ms"] == T0
    assert doc["window"]["end_minute_ms"] == T0 + 2 * MINUTE      # the common window
    assert doc["window"]["missing_in_jsonl"] == [middle]
    assert doc["window"]["missing_in_sqlite"] == [last_minute]
    assert doc["totals"]["jsonl"]["total"] == 80 and doc["totals"]["sqlite"]["total"] == 120
    gap = doc["per_minute"][1]
    assert gap["minute_ms"] == middle and gap["jsonl"]["total"] == 0
    assert gap["diff_pct"]["total"] == 100.0


def test_torn_line_is_counted_not_compared(tmp_path):
    rows = rows_over_minutes(2)
    fill(tmp_path, rows, rows)
    with open(tmp_path / "sinks" / "signals.jsonl", "ab") as handle:
        handle.write(b'{"row_id": "BTCUSDT-9999", "ts_')
    doc = compute_parity(tmp_path)
    assert doc["sinks"]["jsonl"]["torn_lines"] == 1
    assert doc["max_diff_pct"] == 0.0


def test_empty_or_missing_sink_is_not_comparable(tmp_path):
    fill(tmp_path, rows_over_minutes(1), [])
    doc = compute_parity(tmp_path)
    assert doc["comparable"] is False and doc["within_tolerance"] is False
    assert doc["diff_pct"] is None and doc["max_diff_pct"] is None


def test_write_parity_validates_and_cli_exit_codes(tmp_path):
    rows = rows_over_minutes(2)
    fill(tmp_path / "good", rows, rows)
    path = write_parity(tmp_path / "good")
    assert path == tmp_path / "good" / "parity_diff.json"
    load_validated(path, "parity_diff")
    cli = [sys.executable, "-m", "orchestrator.parity"]
    ok = subprocess.run([*cli, str(tmp_path / "good")], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["within_tolerance"] is True
    fill(tmp_path / "bad", rows, rows[1:])
    bad = subprocess.run([*cli, str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 1
    load_validated(tmp_path / "bad" / "parity_diff.json", "parity_diff")
    missing = subprocess.run([*cli, str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
