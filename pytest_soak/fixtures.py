"""pytest fixtures around the soak session (the plugin registers this module).

- `soak_settings` (session): the SoakSettings built from options / ini.
- `soak_sink` (session, parametrized by --soak-sink; one soak per value).
- `soak_run` (session): runs the soak once per sink and returns a `SoakResult`
  (`.run_dir`, `.observations`, `.interrupted`, `.settings`); in judge-only mode
  (`--soak-from-run DIR`) it starts nothing and returns the existing run.
- `soak_seed` (session): the run's seed; in a campaign (--soak-campaign) parametrized, one
  soak per seed (pytest_soak/campaign_plan.py).
- `soak_schedule` (session): the parsed fault schedule (seeded with `soak_seed`).
- `soak_judgement` (session, one per run): the run judged once, dod.json written; each D-test
  of `pytest_soak.suite` asserts its own item from it.
"""

from __future__ import annotations

import pytest

from pytest_soak import campaign_plan
from pytest_soak.faults import Schedule, load_schedule
from pytest_soak.session import SoakResult, SoakSession
from pytest_soak.settings import SoakSettings


def _plugin(config: pytest.Config):  # noqa: ANN202
    plugin = config.pluginmanager.get_plugin("soak-session")
    if plugin is None:
        raise pytest.UsageError("the soak plugin is not active (was it disabled with -p no:soak?)")
    return plugin


@pytest.fixture(scope="session")
def soak_settings(pytestconfig: pytest.Config) -> SoakSettings:
    return _plugin(pytestconfig).settings


@pytest.fixture(scope="session")
def soak_seed(request: pytest.FixtureRequest, soak_settings: SoakSettings) -> int:
    return getattr(request, "param", soak_settings.seed)


@pytest.fixture(scope="session")
def soak_schedule(soak_settings: SoakSettings, soak_seed: int) -> Schedule:
    return load_schedule(soak_settings.schedule, seed=soak_seed)


@pytest.fixture(scope="session")
def soak_sink(request: pytest.FixtureRequest, soak_settings: SoakSettings) -> str:
    return getattr(request, "param", soak_settings.sinks[0])


@pytest.fixture(scope="session")
def soak_run(pytestconfig: pytest.Config, soak_settings: SoakSettings, soak_sink: str,
             soak_seed: int, soak_schedule: Schedule) -> SoakResult:
    plugin = _plugin(pytestconfig)
    if plugin.from_run:
        result = SoakResult.from_run_dir(plugin.from_run, soak_settings)
    else:
        session = SoakSession(campaign_plan.run_settings(soak_settings, soak_seed), soak_sink,
                              schedule=soak_schedule)
        params = pytestconfig.invocation_params       # the command that replays this seed
        campaign_plan.write_replay(session.run_dir, seed=soak_seed, sink=soak_sink,
                                   args=params.args, cwd=params.dir,
                                   campaign_in_ini=bool(pytestconfig.getini("soak_campaign")))
        # The live progress line must reach the terminal / CI log while the run goes on,
        # like pytest's own live logging: output capture is off for the run's duration.
        capman = pytestconfig.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                result = _run_with_model(session)
        else:
            result = _run_with_model(session)
    plugin.results.append(result)
    return result


def _run_with_model(session: SoakSession) -> SoakResult:
    """The soak, then (--soak-model) its fault-free model from the cache or run now (D13)."""
    result = session.run()
    if session.settings.model and not result.interrupted:
        from pytest_soak import model_run
        model_dir, key, cached = model_run.ensure_model(session.settings, session.spec,
                                                        session.schedule, session.sink)
        model_run.write_model_record(result.run_dir, model_dir, key, cached, session.schedule,
                                     session.spec)
    return result


@pytest.fixture(scope="session")
def soak_judgement(soak_run: SoakResult, soak_settings: SoakSettings,
                   pytestconfig: pytest.Config):  # noqa: ANN201 - a Judgement
    from pytest_soak.allure_support import write_environment
    from pytest_soak.checks.judgement import judge_run
    alluredir = pytestconfig.getoption("allure_report_dir", None)
    # plots are drawn for the Allure report only: matplotlib costs seconds a CI gate can keep
    judgement = judge_run(soak_run.run_dir, soak_settings, interrupted=soak_run.interrupted,
                          draw=bool(alluredir))
    _plugin(pytestconfig).judgements.append(judgement)
    obs = judgement.run.observations or {}
    write_environment(alluredir, {
        "run_id": judgement.run.run_id, "run_dir": judgement.run.run_dir,
        "mode": obs.get("mode"), "minutes": obs.get("minutes"), "speed": obs.get("speed"),
        "sink": obs.get("sink"), "seed": obs.get("seed"),
        "schedule": obs.get("schedule_file"), "timeseries": (obs.get("store") or {}).get("type"),
        "level": (obs.get("contract") or {}).get("level"),
        "verdict": judgement.dod["verdict"]})
    return judgement
