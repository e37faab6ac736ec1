"""A short soak of the reference pipeline exporting through the InfluxDB 2.x write API to the
harness's VictoriaMetrics (`--soak-timeseries influxdb-v2`): D4 passes on the read-back, the
run's token reaches no file of the run folder, and nothing of the run survives it. (The gate
soak with this store, 60 market minutes with the store-down fault, is run by hand: see
docs/soak.md.) Run it under `flock /tmp/soak-helper.lock` (it runs a soak)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_soak.checks.judgement import judge_run
from pytest_soak.procs import find_tagged
from pytest_soak.session import SoakSession
from pytest_soak.settings import SoakSettings
from tests.soak_runtime.conftest import REFERENCE

pytestmark = [pytest.mark.slow, pytest.mark.services]


def test_a_short_soak_on_the_v2_store_passes_d4_and_keeps_the_token_out_of_files(
        tmp_path: Path) -> None:
    settings = SoakSettings.from_values({
        "soak_minutes": "8", "soak_speed": "30", "soak_timeseries": "influxdb-v2",
        "soak_schedule": "none", "soak_run_dir": str(tmp_path / "runs"),
        "soak_startup_timeout_s": "60", "soak_config": str(REFERENCE)}, root=tmp_path)
    session = SoakSession(settings, "jsonl")
    result = session.run()
    judgement = judge_run(result.run_dir, settings, interrupted=result.interrupted, draw=False)
    d4 = judgement.results["D4"]
    assert d4.status == "pass", d4.reason
    manifest = json.loads((result.run_dir / "run_manifest.json").read_text())
    export = manifest["timeseries_export"]
    assert (export["type"], export["error_count"]) == ("influxdb", 0)
    config = json.loads((result.run_dir / "config_snapshot.json").read_text())["timeseries"]
    assert (config["api"], config["token_env"]) == ("v2", "INFLUX_TOKEN")
    token = session.store.token.encode()
    leaks = [p for p in result.run_dir.rglob("*") if p.is_file() and token in p.read_bytes()]
    assert leaks == []
    assert find_tagged(session.run_id) == [] and session.store.server.proc is None
