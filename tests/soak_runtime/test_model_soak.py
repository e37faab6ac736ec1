"""D13 for real: a short soak of the reference pipeline with a dropped connection, two kills
of the signal stage and a burst, and its fault-free model (the same seed, drop and burst, no
kill), run by the pipeline's own command; every compared signal equals the model's (the
reference spec keeps no memory after a burst: harvest sheds the same events in both runs),
and a second ask takes the model from the cache. Run it under `flock /tmp/soak-helper.lock`
(it runs two soaks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_soak import model_run
from pytest_soak.checks.judgement import judge_run
from pytest_soak.faults import load_schedule
from pytest_soak.session import SoakSession
from pytest_soak.settings import SoakSettings
from tests.soak_runtime.conftest import REFERENCE

pytestmark = pytest.mark.slow

SCHEDULE = """name: model-short
seed: 7
faults:
  - {id: drop, kind: drop_connections, at_min: 1}
  - {id: kill-signal, kind: kill_stage, target: signal, at_min: 2.5}
  - {id: kill-signal-2, kind: kill_stage, target: signal, at_min: 4}
  - {id: burst, kind: burst, at_min: 4.5, until_min: 5, params: {factor: 6}}
"""


def test_the_soaks_signals_equal_its_fault_free_models(tmp_path: Path) -> None:
    (tmp_path / "schedule.yaml").write_text(SCHEDULE, encoding="utf-8")
    settings = SoakSettings.from_values({
        "soak_minutes": "6", "soak_speed": "30", "soak_schedule": str(tmp_path / "schedule.yaml"),
        "soak_run_dir": str(tmp_path / "runs"), "soak_timeseries": "none",
        "soak_startup_timeout_s": "60", "soak_config": str(REFERENCE), "soak_model": "true"},
        root=tmp_path)
    schedule = load_schedule(settings.schedule)
    session = SoakSession(settings, "dual", schedule=schedule)
    result = session.run()
    model_dir, key, cached = model_run.ensure_model(settings, session.spec, schedule, "dual")
    assert not cached and model_dir.parent.name == key
    model_run.write_model_record(result.run_dir, model_dir, key, cached, schedule, session.spec)
    d13 = judge_run(result.run_dir, settings, interrupted=False, draw=False).results["D13"]
    assert d13.status == "pass", d13.reason
    compared = [p.value["compared"] for p in d13.parts if p.item == "signals equal the model's"]
    assert len(compared) == 2 and min(compared) > 1000          # both sinks, most of the run
    assert model_run.ensure_model(settings, session.spec, schedule, "dual") == (
        model_dir, key, True)                                     # the cache serves it now
