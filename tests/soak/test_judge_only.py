"""Judge-only mode (--soak-from-run DIR) over hand-made run folders: the suite judges an
existing run without starting anything, writes dod.json, ends its output with the one-line
reason of each failed item, and fills the Allure results (one result per D-test, labelled with
its DoD id, with its evidence attached; the run's parameters as the environment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they imported from sys.modules afterwards, and
# numpy's C core cannot be imported twice in one process: load the plotting stack first, so
# a later test of this process can still draw
import pytest_soak.plots  # noqa: F401
from pytest_soak.checks import ITEM_IDS
from tests.soak_checks.factory import rewrite

REPO = Path(__file__).resolve().parents[2]
SUITE = str(REPO / "suites" / "soak")


def judge(pytester: pytest.Pytester, good_run_dir: Path, *args: str) -> pytest.RunResult:
    # the schedule plays no part in judging an existing folder
    return pytester.runpytest_inprocess(SUITE, "-p", "no:cacheprovider", "-ra",
                                        "--soak-schedule", "none",
                                        "--soak-from-run", str(good_run_dir), *args)


def test_a_good_run_passes_and_fills_the_allure_results(pytester, good_run_dir) -> None:
    alluredir = pytester.path / "allure"
    result = judge(pytester, good_run_dir, "--alluredir", str(alluredir))
    result.assert_outcomes(passed=len(ITEM_IDS))
    result.stdout.fnmatch_lines(["*DoD verdict of unit-run: PASS*"])
    dod = json.loads((good_run_dir / "dod.json").read_text())
    assert dod["verdict"] == "pass" and sorted(dod["items"]) == sorted(
        ITEM_IDS)
    results = [json.loads(p.read_text()) for p in alluredir.glob("*-result.json")]
    labels = sorted(next(lab["value"] for lab in r["labels"] if lab["name"] == "dod")
                    for r in results)
    assert labels == sorted(ITEM_IDS)
    for r in results:
        names = {a["name"] for a in r.get("attachments", [])}
        assert {"harness_observations.json", "run_manifest.json", "fault history"} <= names, r
        assert r["steps"], "the session's phases are steps"
        assert r["description"]
    plotted = {a["name"] for r in results for a in r.get("attachments", [])}
    assert {"rss.png", "health.png", "alerts.png", "export.png", "events.png"} <= plotted
    env = (alluredir / "environment.properties").read_text()
    assert "run_id=unit-run" in env and "sink=dual" in env


def test_a_failed_item_ends_the_output_with_its_reason(pytester, good_run_dir) -> None:
    rewrite(good_run_dir, "run_manifest.json", lambda m: m["resource_usage"].update(max_rss_mb=4.0))
    result = judge(pytester, good_run_dir)
    assert result.ret == 1
    result.assert_outcomes(passed=len(ITEM_IDS) - 1, failed=1)
    result.stdout.fnmatch_lines(["*DoD verdict of unit-run: FAIL (pipeline problem)*",
                                 "D8 fail: *manifest disagrees with the harness*",
                                 "dod.json: *"])
    dod = json.loads((good_run_dir / "dod.json").read_text())
    assert (dod["verdict"], dod["failure_kind"]) == ("fail", "pipeline")


def test_missing_observations_are_a_harness_problem_never_a_pass(pytester, good_run_dir) -> None:
    (good_run_dir / "harness_observations.json").unlink()
    result = judge(pytester, good_run_dir)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 8
    dod = json.loads((good_run_dir / "dod.json").read_text())
    assert dod["items"]["D1"]["status"] == "unknown"
    assert dod["verdict"] == "fail"


def test_an_unknown_item_fails_and_shows_as_broken_in_allure(pytester, good_run_dir) -> None:
    alluredir = pytester.path / "allure"
    rewrite(good_run_dir, "harness_observations.json", lambda o: o.update(restarts=[]))
    result = judge(pytester, good_run_dir, "--alluredir", str(alluredir))
    result.assert_outcomes(passed=len(ITEM_IDS) - 1, failed=1)
    result.stdout.fnmatch_lines(["D9 unknown: *the kill never took effect*"])
    statuses = {}
    for path in alluredir.glob("*-result.json"):
        doc = json.loads(path.read_text())
        statuses[next(lab["value"] for lab in doc["labels"] if lab["name"] == "dod")] = \
            doc["status"]
    assert statuses["D9"] == "broken" and statuses["D1"] == "passed"
    assert json.loads((good_run_dir / "dod.json").read_text())["failure_kind"] == "harness"
