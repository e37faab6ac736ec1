"""The example's soak specs and schedule: loadable by the harness, true to the pipeline."""

from __future__ import annotations

import re

import yaml

from examples.asyncio_pipeline import supervisor
from examples.asyncio_pipeline.cli import parse
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.faults import load_schedule
from pytest_soak.pipeline_spec import base_values, load_pipeline_spec
from tests.examples.conftest import EXAMPLE, SOAK_MINUTES

SPECS = ("soak.yaml", "soak_norestart.yaml")


def raw(name: str) -> dict:
    return yaml.safe_load((EXAMPLE / name).read_text(encoding="utf-8"))


def test_the_variant_differs_only_in_its_name_and_restart_policy() -> None:
    always, never = raw("soak.yaml"), raw("soak_norestart.yaml")
    assert always.pop("name") != never.pop("name")
    flag = always["command"].index("--restart")
    assert (always["command"][flag + 1], never["command"][flag + 1]) == ("always", "never")
    always["command"][flag + 1] = never["command"][flag + 1] = "?"
    assert always == never


def test_the_specs_load_and_claim_level_1_items() -> None:
    for name in SPECS:
        spec = load_pipeline_spec(EXAMPLE / name)
        assert spec.stages == ["ingest", "compute", "publish"]
        assert spec.workdir == EXAMPLE.parents[1]        # the checkout root
        assert spec.render_config({}) is None
        doc = raw(name)
        assert doc["level"] == 1 and doc["claims"] == ["D1", "D2", "D8", "D9", "D10"]


def test_the_declared_shutdown_order_is_the_supervisors() -> None:
    for name in SPECS:
        assert tuple(raw(name)["shutdown_order"]) == supervisor.SHUTDOWN_ORDER


def test_the_stage_regex_names_each_stage_and_not_the_supervisor(tmp_path) -> None:
    spec = load_pipeline_spec(EXAMPLE / "soak.yaml")
    pattern = re.compile(spec.stage_regex)
    values = {**base_values(spec), "run_dir": str(tmp_path), "feed_ws_url": "ws://127.0.0.1:9",
              "health_port": "0", "mode": "replay", "run_id": "r", "pipeline_minutes": "6"}
    command = spec.render_command(values)
    assert pattern.search(" ".join(command)) is None
    sup = supervisor.Supervisor(parse(command[4:]))            # past {python} -B -m NAME
    for stage, _down in supervisor.PIPELINE:
        found = pattern.search(" ".join(sup.argv(stage)))
        assert found and found.group("stage") == stage


def test_the_kill_schedule_leaves_each_stage_a_life_long_enough_for_d8() -> None:
    schedule = load_schedule(EXAMPLE / "kills.yaml")
    kills = [(f.kind, f.target) for f in schedule.faults]
    assert kills == [("kill_stage", "compute"), ("kill_stage", "ingest")]
    t = Thresholds()
    last_kill = max(f.start_s for f in schedule.faults)
    assert last_kill + t.leak_warmup_s + t.leak_min_span_s + 30 <= SOAK_MINUTES * 60
