"""`-m live` selects the shipped D-tests (they carry no mark of their own: the plugin marks
them before pytest's mark filter runs), and a plain run's `-m "not live"` keeps them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_minus_m_live_collects_the_d_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_d="from pytest_soak.suite import test_D1_duration  # noqa\n")
    live = pytester.runpytest("--co", "-q", "-p", "no:randomly", "-m", "live")
    live.stdout.fnmatch_lines(["*test_D1_duration*"])
    assert "deselected" not in live.stdout.str()
    gate = pytester.runpytest("--co", "-q", "-p", "no:randomly", "-m", "not live")
    gate.stdout.fnmatch_lines(["*test_D1_duration*"])
