"""pytest-soak: soak-test a multi-process pipeline and judge its Definition of Done.

This module is the thin pytest layer: the `soak` option group (every option has an ini /
pyproject twin, see settings.OPTIONS), the markers, the report header with the fault-schedule
seed, and the hooks. The session's state lives on one `SoakPlugin` object registered under the
name "soak-session" (`-p no:soak` disables everything). The work lives in the sibling modules:
settings, session, sidecars, faults, observer, history, progress, fixtures; the D-tests
themselves are `pytest_soak.suite` (this checkout's suites/soak imports them).
"""

from __future__ import annotations

import pytest

from pytest_soak import fixtures as soak_fixtures
from pytest_soak import harness_record
from pytest_soak.campaign_plan import plan_campaign, write_campaign_summary
from pytest_soak.contract import check_schedule
from pytest_soak.faults import load_schedule
from pytest_soak.pipeline_spec import load_pipeline_spec
from pytest_soak.retention import prune_passed_runs
from pytest_soak.settings import OPTIONS, SoakSettings, SoakUsageError, parse_bool, remember_seed

PLUGIN_NAME = "soak-session"
MARKERS = {
    "soak": "a test that needs a soak run (it asks for a soak fixture, or is marked so)",
    "live": "LIVE soak: 1x pacing, wall-clock freshness, 60 minutes by default (only with -m live)",
    "replay": "REPLAY soak: time-compressed market time (the CI gate)",
    "fault": "a test about an injected fault",
}
# a test that asks for one of these (directly or through another fixture) requests a soak
SOAK_FIXTURES = ("soak_settings", "soak_schedule", "soak_sink", "soak_seed", "soak_run",
                 "soak_judgement")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("soak", "soak test of a pipeline (pytest-soak)")
    for opt in OPTIONS:
        shown = "" if opt.default is None else f" (default: {opt.default})"
        text = (opt.help + shown).replace("%", "%%")      # argparse %-formats help texts
        if opt.type is parse_bool:                              # a flag: --soak-keep
            group.addoption(opt.flag, dest=opt.name, default=None, action="store_const",
                            const="true", help=text)
        else:
            group.addoption(opt.flag, dest=opt.name, default=None,
                            metavar=opt.name[5:].upper(), help=text)
        parser.addini(opt.name, help=f"{opt.help} (same as {opt.flag})", default=None)
    group.addoption("--soak-from-run", dest="soak_from_run", default=None, metavar="DIR",
                    help="judge-only: judge an existing run folder, start nothing")


def _live_selected(config: pytest.Config) -> bool:
    expr = (config.getoption("markexpr", "") or "").replace("(", " ").replace(")", " ")
    words = expr.split()
    negated = any(a == "not" and b == "live" for a, b in zip(words, words[1:], strict=False))
    return "live" in words and not negated


def _raw_values(config: pytest.Config) -> dict[str, object]:
    values = {}
    for opt in OPTIONS:
        value = config.getoption(opt.name, None)
        if value is None:
            value = config.getini(opt.name)
        values[opt.name] = value
    return values


def _asked_on_command_line(config: pytest.Config) -> bool:
    """A soak option on the command line requests a soak (an ini value alone does not: a
    project may name its pipeline once and still run its other tests without a soak)."""
    return any(config.getoption(o.name, None) is not None for o in OPTIONS) or bool(
        config.getoption("soak_from_run", None))


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    plugin = SoakPlugin(config)
    config.pluginmanager.register(plugin, PLUGIN_NAME)
    if _asked_on_command_line(config):
        _ = plugin.settings     # bad options stop the session before anything runs


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With `-n N --dist loadgroup`, every test of one run (a sink's; in a campaign, a seed's
    and sink's) goes to one worker: one soak each, side by side. tryfirst: xdist's worker reads
    the `xdist_group` marks in its own (plain) modifyitems hook, so they must be on by then.
    Likewise `-m live`: pytest's mark filter is a plain hook too, so the D-tests get their
    `live` mark here, before it deselects them (SoakPlugin's trylast hook is too late)."""
    if _live_selected(config):
        for item in items:
            if "soak_judgement" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.live)
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        sink, seed = params.get("soak_sink"), params.get("soak_seed")
        if sink:
            group = f"soak-sink-{sink}" if seed is None else f"soak-seed-{seed}-sink-{sink}"
            item.add_marker(pytest.mark.xdist_group(group))


def wants_soak(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return any(f in names for f in SOAK_FIXTURES) or any(
        item.get_closest_marker(m) is not None for m in ("soak", "live"))


class SoakPlugin:
    """The session's soak state; fixtures find it with `config.pluginmanager.get_plugin`.

    Inert until a soak is requested (a soak option on the command line, a test marked `soak`
    or `live`, or a test using a soak fixture): only then are the settings read, the schedule
    loaded and the seed remembered, so an installed plugin never touches a suite that does
    not soak."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._settings: SoakSettings | None = None
        self.deferred: pytest.UsageError | None = None   # raised once a soak is requested
        self.from_run = config.getoption("soak_from_run", None)
        self.results: list = []           # SoakResult of every run of this session
        self.judgements: list = []        # Judgement of every judged run (the DoD summary)
        self.owns_guard = False           # this session started the harness record (and closes it)
        config.pluginmanager.register(soak_fixtures, "soak-fixtures")

    @property
    def settings(self) -> SoakSettings:
        if self._settings is None:
            self._settings = self._load_settings()
        return self._settings

    def _load_settings(self) -> SoakSettings:
        config = self.config
        worker = getattr(config, "workerinput", {}).get("workerid")
        try:
            settings = SoakSettings.from_values(_raw_values(config), root=config.rootpath,
                                                live_selected=_live_selected(config),
                                                worker_id=worker)
            schedule = load_schedule(settings.schedule, seed=settings.seed)
            if not self.from_run:        # the pipeline and what its contract level can see
                check_schedule(schedule, load_pipeline_spec(settings.pipeline_config).contract)
            settings.seed = schedule.seed
            plan_campaign(settings, getattr(config, "workerinput", {}), from_run=self.from_run,
                          numprocesses=getattr(config.option, "numprocesses", None),
                          dist=getattr(config.option, "dist", None))
        except SoakUsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        if worker is None:
            remember_seed(settings.run_dir, schedule.seed)
        return settings

    # ---- campaigns (--soak-campaign): one soak per seed, pytest_soak/campaign_plan.py --------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:  # noqa: ANN001 - xdist's WorkerController
        """The controller hands its campaign (id and seeds) to each worker: one folder, the
        same seeds even for a schedule with no seed of its own."""
        if self.config.getoption("soak_campaign", None) is None and not self.config.getini(
                "soak_campaign"):
            return
        try:
            settings = self.settings
        except pytest.UsageError:
            return                      # each worker stops with the same usage error
        node.workerinput["soak_campaign_id"] = settings.campaign_id
        node.workerinput["soak_campaign_seeds"] = settings.campaign_seeds

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self._settings is None:
            return []
        s = self.settings
        lines = [f"soak: mode={s.mode} minutes={s.minutes:g} speed={s.speed:g}x "
                 f"sink={','.join(s.sinks)} feed={s.feed} timeseries={s.timeseries} "
                 f"run-dir={s.run_dir}",
                 f"soak: schedule={s.schedule.name if s.schedule else 'none'} "
                 f"seed={s.seed} (replay it with --soak-seed={s.seed})"]
        if s.campaign_seeds:
            lines.append(f"soak: campaign {s.campaign_id}: seeds "
                         f"{', '.join(map(str, s.campaign_seeds))} (one soak each; replay one "
                         f"with --soak-seed=S)")
        if self.from_run:
            lines.append(f"soak: judge-only, run folder {self.from_run}")
        return lines

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "soak_seed" in metafunc.fixturenames and self.deferred is None:
            try:
                seeds = self.settings.campaign_seeds
            except pytest.UsageError as exc:
                self.deferred, seeds = exc, []
            if seeds:                  # a campaign: one soak per seed (and per sink)
                metafunc.parametrize("soak_seed", seeds, indirect=True, scope="session",
                                     ids=[f"seed={s}" for s in seeds])
        if "soak_sink" not in metafunc.fixturenames:
            return
        try:
            sinks = self.settings.sinks
        except pytest.UsageError as exc:      # raised once collection ends, as a usage error
            self.deferred, sinks = exc, ["?"]
        metafunc.parametrize("soak_sink", sinks, indirect=True, scope="session",
                             ids=[f"sink={s}" for s in sinks])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """A plain `pytest` never starts the LIVE run; each soak test gets a run-sized timeout."""
        soaking = [item for item in items if wants_soak(item)]
        if not soaking:
            return
        if self.deferred is not None:
            raise self.deferred
        mode = self.settings.mode
        kept, dropped = [], []
        for item in items:
            live = item.get_closest_marker("live") is not None
            (dropped if live and not mode == "live" else kept).append(item)
            if "soak_run" in getattr(item, "fixturenames", ()) and not self.from_run:
                if item.get_closest_marker("timeout") is None:
                    item.add_marker(pytest.mark.timeout(self.settings.timeout_s))
            if "soak_judgement" in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, mode))   # so `-m live` picks the D-tests
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
        if any("soak_run" in getattr(i, "fixturenames", ()) for i in items):
            self._prune_earlier_runs()
            self._sweep_dead_harnesses(config)

    def _sweep_dead_harnesses(self, config: pytest.Config) -> None:
        """A session that will soak first ends what dead harnesses left, and says so."""
        if self.from_run:
            return
        self.owns_guard = not harness_record.guard_running()  # else an outer session's
        guard = harness_record.guard()
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        lines = [harness_record.summary_line(r) for r in guard.swept] if self.owns_guard else []
        if guard.error:
            lines.append(f"soak: no harness record ({guard.error}): processes of this session "
                         f"would survive a SIGKILL of pytest")
        for line in lines:
            if reporter is not None:
                reporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.owns_guard:
            harness_record.close_guard()    # a clean end: the record goes, the watcher exits

    def _prune_earlier_runs(self) -> None:
        """Only a session that will soak, and without --soak-keep, removes earlier passing runs
        (this session's runs are kept whole; an xdist worker leaves it to the controller)."""
        if self.settings.keep or self.from_run or self.settings.worker_id is not None:
            return
        prune_passed_runs(self.settings.run_dir)

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001
        for result in self.results:
            terminalreporter.write_line(result.summary_line())
        if self.judgements:
            from pytest_soak.checks.judgement import write_verdict  # the registry: only now
            for judgement in self.judgements:
                write_verdict(terminalreporter, judgement)
        if self._settings is not None:      # a campaign's table and campaign.json, at the end
            write_campaign_summary(terminalreporter, self._settings)
