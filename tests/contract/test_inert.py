"""Installed, the plugin is inert until a soak is asked for: a project's unrelated tests run
untouched (no file read or written, no option demanded), and a soak asked for without a
pipeline stops with one line saying what to pass."""

from __future__ import annotations

import pytest


def test_an_unrelated_suite_runs_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "soak:" not in result.stdout.str()            # no soak header either
    written = [p for p in pytester.path.rglob("*") if "artifacts" in p.parts
               or p.name == ".last_seed"]
    assert not written                                    # no run folder, no remembered seed


def test_a_soak_fixture_without_a_pipeline_is_a_one_line_usage_error(pytester) -> None:  # noqa: ANN001
    pytester.makepyfile(test_soak="def test_it(soak_run):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == ["ERROR: no pipeline to soak: pass --soak-config FILE (or set soak_config "
                      "in the ini file); the reference pipeline runs only from a pytest-soak "
                      "checkout"], result.stderr.str()


def test_a_bad_soak_option_on_the_command_line_stops_the_session_at_once(pytester) -> None:  # noqa: ANN001
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--soak-minutes", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --soak-minutes / soak_minutes must be > 0"])
