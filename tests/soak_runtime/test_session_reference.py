"""Ctrl+C in the middle of a real soak of the reference pipeline (replay feed, real stages):
everything stops, what exists is written, nothing of the run survives."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pytest_soak.procs import find_tagged
from pytest_soak.session import SoakSession
from pytest_soak.settings import SoakSettings
from pytest_soak_evidence.schemas import violations
from pytest_soak_evidence.sinks import jsonl_path, read_jsonl_signals
from tests.soak_runtime.conftest import REFERENCE


@pytest.mark.slow
def test_ctrl_c_during_a_real_soak_leaves_nothing_running(tmp_path: Path,
                                                          sigint_raises) -> None:  # noqa: ANN001
    settings = SoakSettings.from_values({
        "soak_minutes": "10", "soak_speed": "30", "soak_timeseries": "none",
        "soak_schedule": "none", "soak_run_dir": str(tmp_path / "runs"),
        "soak_startup_timeout_s": "60", "soak_config": str(REFERENCE)}, root=tmp_path)
    session = SoakSession(settings, "jsonl")

    def interrupt_once_running() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not session.clock.started:
            time.sleep(0.1)
        time.sleep(2.0)                             # a minute of market time in
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        session.run()
    obs = json.loads((session.run_dir / "harness_observations.json").read_text())
    assert violations(obs, "harness_observations") == []
    assert obs["interrupted"] is True and obs["pipeline"]["exit_code"] == 0
    assert obs["pipeline"]["healthy_ms"] is not None and obs["health"]["polls"] > 0
    assert obs["shutdown"]["observed_order"] == ["report", "broker", "signal", "harvest"]
    assert json.loads((session.run_dir / "dod.json").read_text())["verdict"] == "interrupted"
    assert find_tagged(session.run_id) == []
    assert session.feed.proc.poll() is not None     # the feed sidecar is gone too
    # the harness's latency figures (pytest_soak/latency.py): every row the sink holds was seen
    # by the sink watch and matched to the feed's send of its trade
    lat = json.loads((session.run_dir / "signal_latency.json").read_text())
    assert violations(lat, "signal_latency") == [] and lat["error"] is None
    rows = read_jsonl_signals(jsonl_path(session.run_dir)).rows
    jsonl = lat["sinks"]["jsonl"]
    assert jsonl["matched"] + jsonl["before_start"] == len(rows) and jsonl["matched"] > 0
    assert jsonl["unmatched"] == 0
    assert 0 < jsonl["min_ms"] <= jsonl["p50_ms"] <= jsonl["p99_ms"] <= jsonl["max_ms"]
