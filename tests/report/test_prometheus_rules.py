"""The same five rules as Prometheus alerting rules: promtool's own unit tests must pass, and
the rules must read only series the Pushgateway exporter really pushes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.exporters.pushgateway import PushgatewayExporter
from orchestrator.report.engine import ReportEngine
from tests.report.helpers import minute_signals

RULES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "prometheus"
RULES = RULES_DIR / "soak_alerts.rules.yml"


def promtool(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed (apt-get install prometheus)")
    return subprocess.run(["promtool", *args], cwd=RULES_DIR, capture_output=True, text=True,
                          timeout=60)


def test_rules_are_valid_and_their_unit_tests_pass():
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "soak_alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_rules_use_only_series_the_exporter_pushes(base_config, tmp_path):
    engine = ReportEngine(base_config, tmp_path, "r")
    for i in range(3):
        engine.ingest(minute_signals(i))
    engine.aggregator.close_ready()
    closed = engine.aggregator.close_all()
    batch = engine.batch(closed[0])
    batch["harvester"] = {"queue_dropped": 0}
    registry = PushgatewayExporter._run_registry(batch)
    pushed = {s.name for family in registry.collect() for s in family.samples}
    pushed.add("push_time_seconds")                          # added by the Pushgateway
    used = set(re.findall(r"\b(soak_[a-z_]+|push_time_seconds)\{", RULES.read_text()))
    assert used and used <= pushed, used - pushed
