"""pytest fixtures around the soak session (the plugin registers this module).

- `soak_settings` (session): the SoakSettings built from options / ini.
- `soak_sink` (session, parametrized by --soak-sink; one soak per value).
- `soak_run` (session): runs the soak once per sink and returns a `SoakResult`
  (`.run_dir`, `.observations`, `.interrupted`, `.settings`); in judge-only mode
  (`--soak-from-run DIR`) it starts nothing and returns the existing run.
- `soak_schedule` (session): the parsed fault schedule (seeded).
"""

from __future__ import annotations

import pytest

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
def soak_schedule(soak_settings: SoakSettings) -> Schedule:
    return load_schedule(soak_settings.schedule, seed=soak_settings.seed)


@pytest.fixture(scope="session")
def soak_sink(request: pytest.FixtureRequest, soak_settings: SoakSettings) -> str:
    return getattr(request, "param", soak_settings.sinks[0])


@pytest.fixture(scope="session")
def soak_run(pytestconfig: pytest.Config, soak_settings: SoakSettings, soak_sink: str,
             soak_schedule: Schedule) -> SoakResult:
    plugin = _plugin(pytestconfig)
    if plugin.from_run:
        result = SoakResult.from_run_dir(plugin.from_run, soak_settings)
    else:
        session = SoakSession(soak_settings, soak_sink, schedule=soak_schedule)
        # The live progress line must reach the terminal / CI log while the run goes on,
        # like pytest's own live logging: output capture is off for the run's duration.
        capman = pytestconfig.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                result = session.run()
        else:
            result = session.run()
    plugin.results.append(result)
    return result
