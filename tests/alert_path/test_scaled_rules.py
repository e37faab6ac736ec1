"""The scaled copy of the shipped rules a time-compressed run evaluates: every duration (group
interval, `for:`, `offset`, the push-age threshold) divided by the speed, nothing else changed,
and promtool still accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_soak.alert_path import AlertTiming
from pytest_soak.alert_servers import RULES_FILE, duration, scaled_rules, seconds


def rules_by_name(doc: dict) -> dict[str, dict]:
    return {r.get("alert") or r.get("record"): r for r in doc["groups"][0]["rules"]}


def test_every_duration_is_divided_by_the_speed_and_nothing_else() -> None:
    shipped = rules_by_name(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))
    doc = scaled_rules(60.0)
    scaled = rules_by_name(doc)
    assert doc["groups"][0]["interval"] == "1s"
    assert scaled["SoakNoData"]["for"] == "1s" and scaled["SoakStrongRatioCollapse"]["for"] == "1s"
    assert "offset 1s" in scaled["SoakDataDrop"]["expr"]
    assert '(push_time_seconds{instance="run"}) >= 3 or' in scaled["SoakExportFailing"]["expr"]
    assert "== 0" in scaled["SoakExportFailing"]["expr"]          # the up clause untouched
    assert ">= 20" in scaled["SoakStrongRatioCollapse"]["expr"]   # a count, not a duration
    assert scaled.keys() == shipped.keys()
    for name, rule in shipped.items():
        assert scaled[name].get("labels") == rule.get("labels"), name


def test_at_1x_the_copy_means_the_shipped_rules() -> None:
    shipped = rules_by_name(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))
    for name, rule in rules_by_name(scaled_rules(1.0)).items():
        assert rule["expr"] == shipped[name]["expr"], name
        assert seconds(rule.get("for", "0s")) == seconds(shipped[name].get("for", "0s")), name


def test_durations_round_trip_in_milliseconds() -> None:
    assert duration(2.0) == "2s" and duration(120) == "2m" and duration(0.5) == "500ms"
    assert seconds("1m") == 60
    assert AlertTiming.for_speed(1.0).scrape_interval_s == 15
    assert AlertTiming.for_speed(30.0).evaluation_interval_s == 2


def test_promtool_accepts_the_scaled_copy(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed (apt-get install prometheus)")
    path = tmp_path / "scaled.rules.yml"
    path.write_text(yaml.safe_dump(scaled_rules(30.0)), encoding="utf-8")
    checked = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
