"""Options and their ini twins, the report header with the seed, live deselection (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_soak.settings import OPTIONS, RUN_OPTIONS, SoakSettings, SoakUsageError
from pytest_soak_evidence.carried import CHECKOUT_ROOT as REPO_ROOT
from tests.soak_runtime.conftest import REFERENCE_INI

pytest_plugins = ["pytester"]

PROBE = """
def test_probe(soak_settings):
    s = soak_settings
    print("PROBE", s.mode, s.minutes, s.speed, ",".join(s.sinks), s.timeseries, s.seed,
          sorted(s.thresholds.items()))
"""


def run_probe(pytester: pytest.Pytester, *args: str, ini: str = "") -> pytest.RunResult:
    if ini:
        pytester.makeini("[pytest]\n" + REFERENCE_INI + ini)
    pytester.makepyfile(test_probe=PROBE)
    return pytester.runpytest("-s", "-p", "no:randomly", *args)


def test_every_option_has_an_ini_twin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for opt in OPTIONS:
        result.stdout.fnmatch_lines([f"*{opt.flag}*"])
        result.stdout.fnmatch_lines([f"*{opt.name} (*"])


def test_ini_values_are_read_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    ini = "soak_minutes = 7\nsoak_speed = 40\nsoak_sink = jsonl,sqlite\nsoak_max_rss_mb = 300\n"
    result = run_probe(pytester, "--soak-speed=50", ini=ini)
    result.stdout.fnmatch_lines(["*PROBE replay 7.0 50.0 jsonl,sqlite prometheus *"
                                 "max_rss_mb', 300.0)*"])


def test_report_header_shows_the_seed_and_it_can_be_given_back(pytester: pytest.Pytester,
                                                               tmp_path) -> None:  # noqa: ANN001
    runs = tmp_path / "runs"
    first = run_probe(pytester, f"--soak-run-dir={runs}", "--soak-seed=4242")
    first.stdout.fnmatch_lines(["soak: schedule=default.yaml seed=4242 "
                                "(replay it with --soak-seed=4242)"])
    again = run_probe(pytester, f"--soak-run-dir={runs}", "--soak-seed=last")
    again.stdout.fnmatch_lines(["*seed=4242*", "*PROBE replay * 4242 *"])


@pytest.mark.parametrize("args, words", [
    (["--soak-speed=5"], ["--soak-speed", "at least 20"]),
    (["--soak-sink=csv"], ["--soak-sink", "jsonl, sqlite, dual"]),
    (["--soak-timeseries=graphite"],
     ["--soak-timeseries", "prometheus, influxdb, influxdb-v2, none"]),
    (["--soak-minutes=abc"], ["--soak-minutes", "abc"]),
    (["--soak-seed=last", "--soak-run-dir=nowhere-yet"], ["--soak-seed last", "no previous"]),
])
def test_bad_options_are_usage_errors_naming_the_option(pytester: pytest.Pytester,
                                                         args: list[str],
                                                         words: list[str]) -> None:
    result = run_probe(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    for word in words:
        assert word in result.stderr.str() + result.stdout.str()


@pytest.mark.slow
def test_live_tests_are_deselected_unless_live_is_selected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_modes="""
        import pytest

        @pytest.mark.live
        def test_live(soak_settings):
            assert soak_settings.mode == "live" and soak_settings.speed == 1.0

        def test_gate(soak_settings):
            print("MODE", soak_settings.mode)
    """)
    plain = pytester.runpytest("-s", "-p", "no:randomly")
    plain.assert_outcomes(passed=1, deselected=1)
    plain.stdout.fnmatch_lines(["*MODE replay*"])
    live = pytester.runpytest("-s", "-p", "no:randomly", "-m", "live")
    live.assert_outcomes(passed=1, deselected=1)
    not_live = pytester.runpytest("-p", "no:randomly", "-m", "not live")
    not_live.assert_outcomes(passed=1, deselected=1)


def test_plugin_can_be_disabled_by_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off="def test_off(request):\n    assert request.config."
                        "pluginmanager.get_plugin('soak-session') is None\n")
    pytester.runpytest("-p", "no:soak", "-p", "no:randomly").assert_outcomes(passed=1)


def test_settings_budget_and_live_pacing() -> None:
    s = SoakSettings.from_values({"soak_minutes": "60", "soak_speed": "30"})
    assert s.run_wall_s == 120 and s.health_wall_interval_s == pytest.approx(1 / 3)
    live = SoakSettings.from_values({"soak_minutes": "60", "soak_speed": "30"},
                                    live_selected=True)
    assert live.mode == "live" and live.speed == 1.0 and live.run_wall_s == 3600
    assert live.timeout_s > 3600
    with pytest.raises(SoakUsageError, match="soak_minutes"):
        SoakSettings.from_values({"soak_minutes": "0"})


def test_every_threshold_option_names_a_field_of_the_checks_thresholds() -> None:
    from dataclasses import fields

    from pytest_soak.checks.thresholds import Thresholds
    from pytest_soak.settings import THRESHOLD_OPTIONS

    known = {f.name for f in fields(Thresholds)}
    names = {o.name.removeprefix("soak_") for o in THRESHOLD_OPTIONS}
    assert names <= known, f"options without a Thresholds field: {sorted(names - known)}"
    values = {o.name: "7" for o in THRESHOLD_OPTIONS}
    settings = SoakSettings.from_values(values)
    t = Thresholds.from_settings(settings)
    assert all(getattr(t, name) == 7 for name in names)


def test_every_threshold_option_default_is_its_thresholds_field() -> None:
    from pytest_soak.checks.thresholds import Thresholds
    from pytest_soak.settings import THRESHOLD_OPTIONS

    seed = Thresholds()
    for opt in THRESHOLD_OPTIONS:
        assert opt.default == getattr(seed, opt.name.removeprefix("soak_")), opt.name
    # unset options leave the thresholds to the checks, so they judge with the same figures
    settings = SoakSettings.from_values({})
    assert settings.thresholds == {}
    assert Thresholds.from_settings(settings) == seed


def test_settings_built_from_no_values_carry_each_options_default() -> None:
    s = SoakSettings.from_values({}, root=REPO_ROOT)
    by_option = {"soak_minutes": s.minutes, "soak_speed": s.speed, "soak_sink": ",".join(s.sinks),
                 "soak_config": s.pipeline_config, "soak_schedule": s.schedule.stem,
                 "soak_seed": s.seed, "soak_feed": s.feed, "soak_timeseries": s.timeseries,
                 "soak_timeseries_url": s.timeseries_url,
                 "soak_run_dir": str(s.run_dir.relative_to(REPO_ROOT)), "soak_keep": s.keep,
                 "soak_health_interval_s": s.health_interval_s,
                 "soak_sample_interval_s": s.sample_interval_s, "soak_progress_s": s.progress_s,
                 "soak_startup_timeout_s": s.startup_timeout_s,
                 "soak_stop_timeout_s": s.stop_timeout_s, "soak_report_tz": s.report_tz,
                 "soak_recording": s.recording, "soak_campaign": s.campaign,
                 "soak_model": s.model, "soak_market_profile": s.market_profile}
    for opt in RUN_OPTIONS:
        if opt.name in by_option:
            assert by_option[opt.name] == opt.default, opt.name
    derived = {"soak_mode", "soak_alert_path"}        # their defaults follow -m live
    assert s.mode == "replay" and set(by_option) | derived == {o.name for o in RUN_OPTIONS}


def test_the_alert_path_is_on_in_live_off_in_replay_unless_asked() -> None:
    assert SoakSettings.from_values({"soak_mode": "live"}).alert_path is True
    assert SoakSettings.from_values({}).alert_path is False
    assert SoakSettings.from_values({"soak_alert_path": "true"}).alert_path is True
    assert SoakSettings.from_values({"soak_mode": "live", "soak_alert_path": "false"}
                                    ).alert_path is False


def test_market_profile_is_a_known_profile_and_defaults_to_the_schedules() -> None:
    from pytest_soak.market_source import soak_profile
    assert SoakSettings.from_values({"soak_market_profile": "real"}).market_profile == "real"
    with pytest.raises(SoakUsageError, match="soak_market_profile = 'busy': choose one of"):
        SoakSettings.from_values({"soak_market_profile": "busy"})
    assert soak_profile(None, "real") == "real" and soak_profile("light", "real") == "light"
    assert soak_profile(None, None) == "light"


def test_report_tz_is_a_non_utc_zone_by_default_and_must_be_a_zone() -> None:
    assert SoakSettings.from_values({}).report_tz == "Asia/Tokyo"
    assert SoakSettings.from_values({"soak_report_tz": "Europe/Paris"}).report_tz == \
        "Europe/Paris"
    with pytest.raises(SoakUsageError, match="soak-report-tz"):
        SoakSettings.from_values({"soak_report_tz": "Mars/Olympus"})


def _shown(opt) -> str:  # noqa: ANN001 - an Option
    """An option's default as the docs' options table writes it."""
    if isinstance(opt.default, bool):
        return str(opt.default).lower()
    if isinstance(opt.default, float):
        return f"{opt.default:g}"
    path = Path(str(opt.default))
    return path.relative_to(REPO_ROOT).as_posix() if path.is_absolute() else str(opt.default)


def test_the_docs_options_table_lists_every_option_with_its_default() -> None:
    rows = {}
    for line in (REPO_ROOT / "docs" / "soak.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`--soak-"):
            for flag in cells[0].replace("`", "").split(","):
                rows[flag.strip().split()[0]] = cells[1]
    missing = [o.flag for o in OPTIONS if o.flag not in rows]
    assert not missing, f"docs/soak.md options table lacks {missing}"
    for opt in RUN_OPTIONS:
        if opt.default is not None:
            assert rows[opt.flag] == _shown(opt), (opt.flag, rows[opt.flag], _shown(opt))
