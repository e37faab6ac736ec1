"""The report stage as a real process (stage_main), then the one-shot finaliser: signals
committed after the stage stopped still reach the store and the daily report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from orchestrator.handoff import HandoffWriter
from pytest_soak_evidence.schemas import load_validated, violations
from tests.report.helpers import T0, minute_signals

pytestmark = [pytest.mark.services, pytest.mark.slow]


def append(run_dir: Path, writer: HandoffWriter, rows: list[dict]) -> None:
    """What the signal stage does: sink first, then the handoff."""
    with open(run_dir / "sinks" / "signals.jsonl", "a", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")
            writer.append(row)
    writer.flush()


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status(run_dir: Path, name: str) -> dict:
    try:
        return json.loads((run_dir / "status" / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


def test_stage_then_finalize_cover_every_committed_signal(pushgateway, base_config, tmp_path):
    run_dir = tmp_path / "run"
    for sub in ("sinks", "logs", "control", "status"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    base_config["timeseries"].update(type="prometheus", url=pushgateway.url)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(base_config))
    writer = HandoffWriter(run_dir / "handoff" / "signals")
    rows = [r for i in range(4) for r in minute_signals(i)]
    append(run_dir, writer, rows)
    common = ["--config", str(config_path), "--run-dir", str(run_dir), "--sink", "jsonl",
              "--run-id", "run-proc"]
    with open(run_dir / "logs" / "report.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.stage_main", "report",
                                 *common], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: status(run_dir, "report").get("metrics", {}).get("minutes_closed") == 3,
                 30, "3 closed minutes in status/report.json")
        (run_dir / "control" / "report.stop").touch()
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    late = minute_signals(4)                      # committed after the report stage stopped
    append(run_dir, writer, late)
    writer.close()
    done = subprocess.run([sys.executable, "-m", "orchestrator.report.finalize", *common],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert done.returncode == 0, done.stdout.decode()

    final = status(run_dir, "report_finalize")
    export = final["manifest"]["timeseries_export"]
    assert violations(export, "manifest/timeseries_export") == []
    assert violations(final["manifest"]["alerts"], "manifest/alerts") == []
    assert export["export_count"] == 5 and export["error_count"] == 0
    minutes = {int(dict(k)["minute"]) for k in pushgateway.read_run("run-proc")
               if "minute" in dict(k)}
    assert minutes == {T0 + i * 60_000 for i in range(5)}
    [report_json] = (run_dir / "reports" / "jsonl").glob("summary_*.json")
    doc = load_validated(report_json, "daily_report")
    assert doc["totals"]["total"] == len(rows) + len(late)
    assert doc["window"]["minutes"] == 5 and doc["per_minute"][-1]["partial"] is True
    assert doc["generated_at"].endswith("+09:00")
    assert report_json.with_suffix(".md").read_text().startswith("# Daily report")
    pushgateway.delete_run("run-proc")
