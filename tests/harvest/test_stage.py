"""HarvestStage as the supervisor runs it: a real process, status file, manifest section."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
import yaml

from pytest_soak.replay_feed import ReplayFeed
from pytest_soak_evidence.schemas import violations
from tests.harvest.conftest import wait_for


@pytest.fixture
def feed():
    f = ReplayFeed(generate_seed=5, speed=10).start()
    yield f
    f.stop()


def write_config(tmp_path, feed: ReplayFeed, **harvest) -> str:
    with open("config/defaults.yaml", encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    config["feed"].update(ws_base_url=feed.urls["ws_base"], rest_base_url=feed.urls["rest_base"])
    config["harvest"].update(harvest)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


@pytest.mark.slow
def test_stage_process_publishes_metrics_and_stops_on_the_stop_file(tmp_path, feed):
    run_dir = tmp_path / "run"
    (run_dir / "control").mkdir(parents=True)
    config = write_config(tmp_path, feed, record=True)
    log = open(tmp_path / "harvest.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.stage_main", "harvest",
                             "--config", config, "--run-dir", str(run_dir), "--run-id", "t1"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        status_path = run_dir / "status" / "harvest.json"

        def status() -> dict:
            try:
                return json.loads(status_path.read_text())
            except (OSError, ValueError):
                return {}
        wait_for(lambda: status().get("metrics", {}).get("events_out", 0) > 200, 20,
                 "events flowing into the handoff")
        feed.control("malformed", kind="non_json", stream="btcusdt@aggTrade", count=2)
        wait_for(lambda: status()["metrics"]["malformed_count"] == 2, 10, "malformed counted")
        doc = status()
        market_ms = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()[
            "market_ms"]                                  # the feed's event time now
        assert doc["ready"] and doc["last_event_ms"] > market_ms - 60_000
        assert violations(doc["manifest"]["harvester_metrics"],
                          "manifest/harvester_metrics") == []
        (run_dir / "control" / "harvest.stop").touch()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    final = json.loads((run_dir / "status" / "harvest.json").read_text())
    assert final["state"] == "stopped"
    handed = sum(len(p.read_text().splitlines())
                 for p in (run_dir / "handoff" / "market").glob("*.jsonl"))
    assert handed == final["metrics"]["events_out"]            # flushed, nothing lost
    assert list((run_dir / "recordings").glob("*.jsonl.gz"))


def test_bad_feed_config_exits_2_naming_the_key(tmp_path, feed):
    config = write_config(tmp_path, feed)
    text = open(config, encoding="utf-8").read().replace("queue_max: 50000", "queue_max: -1")
    open(config, "w", encoding="utf-8").write(text)
    result = subprocess.run([sys.executable, "-m", "orchestrator.stage_main", "harvest",
                             "--config", config, "--run-dir", str(tmp_path / "r"),
                             "--run-id", "t2"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "queue_max" in result.stderr


@pytest.mark.slow
def test_sigkill_loses_nothing_the_stage_had_accepted(tmp_path, feed):
    """Every line in the handoff is complete JSON, and at least what the last status said."""
    run_dir = tmp_path / "run"
    config = write_config(tmp_path, feed)
    log = open(tmp_path / "harvest.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.stage_main", "harvest",
                             "--config", config, "--run-dir", str(run_dir), "--run-id", "t3"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        status_path = run_dir / "status" / "harvest.json"

        def accepted() -> int:
            try:
                return json.loads(status_path.read_text())["metrics"].get("events_out", 0)
            except (OSError, ValueError, KeyError):
                return 0
        wait_for(lambda: accepted() > 300, 20, "events accepted")
        reported = accepted()
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    lines = [line for p in sorted((run_dir / "handoff" / "market").glob("*.jsonl"))
             for line in p.read_text().splitlines()]
    records = [json.loads(line) for line in lines]          # no torn line: each is whole
    assert len(records) >= reported
