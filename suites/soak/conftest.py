"""The DoD suite's glue: judge each soak run once, write its dod.json, and end the pytest
output with the one-line reason of every D-item that did not pass.

A D-test asks for `soak_judgement` (one per run, so one per --soak-sink value) and asserts
its own item. The soak run itself comes from the plugin's `soak_run` fixture (or, with
--soak-from-run DIR, from an existing folder: judge-only mode).
"""

from __future__ import annotations

import pytest

from pytest_soak.allure_support import write_environment
from pytest_soak.checks.judgement import Judgement, judge_run

JUDGEMENTS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def soak_judgement(soak_run, soak_settings, pytestconfig: pytest.Config) -> Judgement:  # noqa: ANN001
    alluredir = pytestconfig.getoption("allure_report_dir", None)
    # plots are drawn for the Allure report only: matplotlib costs seconds a CI gate can keep
    judgement = judge_run(soak_run.run_dir, soak_settings, interrupted=soak_run.interrupted,
                          draw=bool(alluredir))
    pytestconfig.stash.setdefault(JUDGEMENTS, []).append(judgement)
    obs = judgement.run.observations or {}
    write_environment(alluredir, {
        "run_id": judgement.run.run_id, "run_dir": judgement.run.run_dir,
        "mode": obs.get("mode"), "minutes": obs.get("minutes"), "speed": obs.get("speed"),
        "sink": obs.get("sink"), "seed": obs.get("seed"),
        "schedule": obs.get("schedule_file"), "timeseries": (obs.get("store") or {}).get("type"),
        "verdict": judgement.dod["verdict"]})
    return judgement


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """D-tests run in either mode: mark them with the session's mode so `-m live` picks them."""
    plugin = config.pluginmanager.get_plugin("soak-session")
    mode = getattr(getattr(plugin, "settings", None), "mode", "replay")
    for item in items:
        if "soak_judgement" in getattr(item, "fixturenames", ()):
            item.add_marker(getattr(pytest.mark, mode))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # noqa: ANN001
    for judgement in config.stash.get(JUDGEMENTS, []):
        dod = judgement.dod
        kind = f" ({dod['failure_kind']} problem)" if dod["failure_kind"] else ""
        terminalreporter.section(f"DoD verdict of {dod['run_id']}: {dod['verdict'].upper()}"
                                 f"{kind}", sep="=", bold=True)
        for result in judgement.failing:
            terminalreporter.write_line(result.line())
        for problem in judgement.problems:
            terminalreporter.write_line(f"harness: {problem}")
        terminalreporter.write_line(f"dod.json: {judgement.dod_path}")
