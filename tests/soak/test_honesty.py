"""Honesty of the checks: the DoD suite run (through pytester, as a user runs it) against
deliberately broken pipelines -- each time the right D-test must fail, for the right reason.

Each broken pipeline is the real `python -m orchestrator.run`, either configured wrongly
(a stage that never restarts, a shutdown in the wrong order) or wrapped by
tests/soak/broken/wrap.py, which damages the evidence after the supervisor exits (a manifest
that under-reports RSS or exports, a sink that loses rows, an alert that never resolves, a
missing restart_count, drops in calm water, a missing Markdown report, a duplicated execution
event, a non-zero exit). Every DoD item D1..D12 fails in at least one of them. The control
run uses the same wrapper with nothing damaged and must pass every part the others fail.
A check that cannot fail is a defect.

Runs are short (7 market minutes at 30x with the reduced schedule tests/soak/broken/
honesty_schedule.yaml) so the whole module stays within a few minutes of CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parent / "broken"
REFERENCE = REPO / "fixtures" / "soak" / "reference_pipeline.yaml"
SCHEDULE = BROKEN / "honesty_schedule.yaml"

pytestmark = pytest.mark.slow


def broken_config(tmp_path: Path, breakage: str = "intact", supervisor: dict | None = None
                  ) -> Path:
    """The reference pipeline's soak config, wrapped and/or with a supervisor overlay."""
    spec = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    spec["name"] = f"broken reference pipeline ({breakage})"
    spec["command"] = ["{python}", str(BROKEN / "wrap.py"), breakage, "--", *spec["command"]]
    if supervisor:
        spec.setdefault("config_overlay", {})["supervisor"] = supervisor
    path = tmp_path / f"pipeline_{breakage}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def soak(pytester: pytest.Pytester, config: Path) -> tuple[pytest.RunResult, dict]:
    """Run the DoD suite as a user would; return pytest's result and the run's dod.json."""
    runs = pytester.path / "runs"
    result = pytester.runpytest_subprocess(
        str(REPO / "suites" / "soak"), "-p", "no:cacheprovider", "-ra",
        "--soak-config", str(config), "--soak-schedule", str(SCHEDULE),
        "--soak-minutes", "7", "--soak-speed", "30", "--soak-run-dir", str(runs),
        "--soak-keep", "-o", "timeout=240")
    found = sorted(runs.glob("*/dod.json"))
    assert found, f"no dod.json written:\n{result.stdout.str()[-3000:]}"
    return result, json.loads(found[-1].read_text(encoding="utf-8"))


def part(dod: dict, item: str, name_start: str) -> dict:
    """The first part whose label (`name`, or `name subject` for a per-subject sub-check,
    e.g. `restart signal (kill-signal)`) starts with `name_start`."""
    for p in dod["items"][item].get("parts", []):
        label = p["name"] if p.get("subject") is None else f"{p['name']} {p['subject']}"
        if label.startswith(name_start):
            return p
    raise AssertionError(f"{item} has no part {name_start!r}: {dod['items'][item]}")


def test_control_pipeline_passes_what_the_broken_ones_fail(pytester, tmp_path) -> None:
    result, dod = soak(pytester, broken_config(tmp_path, "intact"))
    out = result.stdout.str()
    assert dod["items"]["D5"]["status"] == "pass", out[-3000:]
    assert part(dod, "D8", "RSS agreement")["status"] == "pass", dod["items"]["D8"]
    assert part(dod, "D9", "restart signal")["status"] == "pass", dod["items"]["D9"]
    assert part(dod, "D10", "manifest order")["status"] == "pass", dod["items"]["D10"]
    assert part(dod, "D3", "low_consistency")["status"] == "pass", dod["items"]["D3"]


def test_a_stage_that_never_restarts_fails_D9(pytester, tmp_path) -> None:
    config = broken_config(tmp_path, supervisor={"restart": {"max_restarts": 0}})
    result, dod = soak(pytester, config)
    result.stdout.fnmatch_lines(["D9 fail:*never restarted*"])
    result.stdout.fnmatch_lines(["FAILED *test_D9_*"])
    assert part(dod, "D9", "restart signal")["status"] == "fail"
    # ... and the stage left down is seen by the harness's own health polls.
    result.stdout.fnmatch_lines(["FAILED *test_D2_*"])
    assert dod["items"]["D2"]["status"] == "fail", dod["items"]["D2"]


def test_a_shutdown_in_the_wrong_order_fails_D10(pytester, tmp_path) -> None:
    config = broken_config(tmp_path, supervisor={
        "shutdown_order": ["harvest", "signal", "broker", "report"]})
    result, dod = soak(pytester, config)
    result.stdout.fnmatch_lines(["D10 fail:*stopped as harvest -> signal -> broker -> report*"])
    result.stdout.fnmatch_lines(["FAILED *test_D10_*"])
    assert part(dod, "D10", "manifest order")["status"] == "fail"


def test_evidence_damaged_after_exit_fails_exactly_D3_D5_D8(pytester, tmp_path) -> None:
    """Three breakages in one run (to keep CI short), each touching different evidence:
    a manifest that under-reports RSS (D8), a sink that loses rows (D5), alerts that never
    resolve (D3). Each fails its own item for its own reason; the undamaged parts pass."""
    config = broken_config(tmp_path, "under_report_rss,lose_rows,unresolved_alert")
    result, dod = soak(pytester, config)
    result.stdout.fnmatch_lines(["FAILED *test_D3_*", "FAILED *test_D5_*", "FAILED *test_D8_*"],
                                consecutive=False)
    result.stdout.fnmatch_lines(["D3 fail:*low_consistency*never resolved*",
                                 "D5 fail:*only in JSONL*",
                                 "D8 fail:*manifest disagrees*"])
    assert part(dod, "D8", "RSS agreement")["status"] == "fail"
    assert part(dod, "D5", "row_id sets")["status"] == "fail"
    assert part(dod, "D3", "low_consistency")["status"] == "fail"
    assert part(dod, "D9", "restart signal")["status"] == "pass", dod["items"]["D9"]
    assert part(dod, "D10", "manifest order")["status"] == "pass", dod["items"]["D10"]


def test_more_damaged_evidence_fails_D1_D4_D6_D7_D11_D12(pytester, tmp_path) -> None:
    """Six more breakages in one run, each touching its own evidence: a non-zero exit after
    the graceful stop (D1), one export claimed for the whole run, the seed's own bug (D4), a
    manifest without the harvest process's restart_count (D6), drops outside any induced
    window (D7), a daily report without its Markdown (D11), an execution event published
    twice (D12). Evidence they do not touch (the sinks, the shutdown order) still passes."""
    config = broken_config(tmp_path, "exit_nonzero,under_report_exports,hide_restart_count,"
                                     "drop_in_calm_water,no_markdown_report,"
                                     "duplicate_outbox_event")
    result, dod = soak(pytester, config)
    out = result.stdout.str()
    for item in ("D1", "D4", "D6", "D7", "D11", "D12"):
        assert dod["items"][item]["status"] == "fail", (item, dod["items"][item], out[-3000:])
        result.stdout.fnmatch_lines([f"FAILED *test_{item}_*"])
    for reason in ("D1 fail:*exit code 1*", "D4 fail:*export_count*",
                   "D6 fail:*restart_count*", "D7 fail:*queue_dropped*",
                   "D11 fail:*no Markdown*", "D12 fail:*duplicate*"):
        result.stdout.fnmatch_lines([reason])
    assert dod["items"]["D5"]["status"] == "pass", dod["items"]["D5"]
    assert part(dod, "D10", "manifest order")["status"] == "pass", dod["items"]["D10"]
