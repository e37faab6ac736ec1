"""The repository's dev tasks in Python (scripts/*.py) and their bash wrappers: set-up's
decisions without running apt or pip, and the wrappers for real in a copy of this checkout."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from scripts import setup
from tests.cli.conftest import REPO, child_env, run_command

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash (Windows)")


def test_nothing_missing_needs_nothing() -> None:
    assert setup.system_plan([], is_root=False, has_apt=False, windows=True) == setup.SystemPlan()


def test_root_with_apt_installs_what_is_missing() -> None:
    plan = setup.system_plan(["influxdb", "prometheus"], is_root=True, has_apt=True, windows=False)
    assert plan.apt == ["influxdb", "prometheus"] and plan.manual == []


@pytest.mark.parametrize("is_root, has_apt", [(False, True), (True, False)])
def test_otherwise_it_says_what_to_install(is_root: bool, has_apt: bool) -> None:
    plan = setup.system_plan(["influxdb"], is_root=is_root, has_apt=has_apt, windows=False)
    assert plan.apt == []
    assert plan.manual == ["setup: not root (or no apt-get): please install by hand: influxdb",
                           "setup:   e.g. sudo apt-get install -y influxdb"]


def test_on_windows_it_names_the_binaries_and_where_they_come_from() -> None:
    plan = setup.system_plan(list(setup.SYSTEM_PACKAGES), is_root=True, has_apt=True,
                             windows=True)
    text = "\n".join(plan.manual)
    assert plan.apt == [] and "put them on PATH" in text
    for exe in ("prometheus-pushgateway.exe", "influxd.exe", "promtool.exe",
                "victoria-metrics.exe", "prometheus-alertmanager.exe"):
        assert exe in text
    assert "prometheus.io" in text and "influxdata.com" in text


def test_a_package_is_missing_when_neither_its_binary_nor_dpkg_knows_it() -> None:
    on_path = {"promtool", "victoria-metrics"}
    missing = setup.missing_packages(which=lambda b: b if b in on_path else None,
                                     installed=lambda pkg: pkg == "influxdb")
    assert missing == ["prometheus-pushgateway", "prometheus-alertmanager"]


def test_pip_installs_unless_installed_from_this_checkout(tmp_path: Path) -> None:
    assert setup.needs_install(None, REPO)
    assert setup.needs_install(tmp_path, REPO)
    assert not setup.needs_install(REPO / "scripts" / "..", REPO)


def test_the_probe_reports_where_pytest_soak_is_imported_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pytest_soak in the current folder must not count (that is what -P is for); a missing
    dev dependency reads as not installed."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    for package in (here / "pytest_soak", elsewhere / "pytest_soak"):
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    monkeypatch.chdir(here)
    assert setup.installed_from(child_env()) == REPO
    assert setup.installed_from(child_env(PYTHONPATH=str(elsewhere))) == elsewhere
    (elsewhere / "ruff").mkdir()
    (elsewhere / "ruff" / "__init__.py").write_text("raise ImportError('not installed')")
    assert setup.installed_from(child_env(PYTHONPATH=str(elsewhere))) is None


# What the wrappers need of a checkout, and few tests: no suites/, so a wrapper that dropped
# its arguments would run these tests only, never a soak.
COPIED = ("pyproject.toml", "setup.py", "conftest.py", "scripts", "pytest_soak",
          "pytest_soak_evidence", "schemas", "fixtures", "tests/__init__.py", "tests/conftest.py",
          "tests/cli", "tests/soak_checks")
IN_COPY = "PYTEST_SOAK_TEST_IN_COPY"


def copy_env(copy: Path) -> dict[str, str]:
    return child_env(PYTHONPATH=str(copy), PYTHON=sys.executable, **{IN_COPY: "1"})


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A partial copy of this checkout where the wrappers may write artifacts/. Its set-up must
    find nothing to do: it would otherwise apt-get install, or pip install the copy editable
    into the environment every other test uses."""
    if os.environ.get(IN_COPY):     # never a copy inside a copy: the wrapper lost its arguments
        pytest.fail("these tests ran inside their own checkout copy")
    copy = tmp_path_factory.mktemp("checkout") / "repo"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in COPIED:
        source, target = REPO / name, copy / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if setup.missing_packages():
        pytest.skip("the servers are not installed: set-up would apt-get install them")
    assert setup.installed_from(copy_env(copy)) == copy
    return copy


def test_python_m_scripts_test_passes_its_arguments_and_writes_junit(run_python,
                                                                     checkout_copy: Path) -> None:
    done = run_python("-m", "scripts.test", "--collect-only", "-q", "-p", "no:cacheprovider",
                      "tests/cli/test_plugin_cli.py", cwd=checkout_copy,
                      env=copy_env(checkout_copy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "setup: ok" in done.stdout and "pip install" not in done.stdout
    assert "test_plugin_cli.py::test_judge_passes_a_good_run_and_writes_its_dod" in done.stdout
    assert "<testsuites" in (checkout_copy / "artifacts" / "junit.xml").read_text()


@needs_bash
def test_the_bash_wrapper_fails_a_run_that_collects_nothing(checkout_copy: Path) -> None:
    done = run_command(["bash", "scripts/test", "-q", "-p", "no:cacheprovider", "-k", "no_such",
                        "tests/cli/test_dev_scripts.py"], cwd=checkout_copy,
                       env=copy_env(checkout_copy))
    assert done.returncode == 5, done.stdout + done.stderr
    assert "scripts/test: no tests were collected: failing" in done.stderr


@needs_bash
@pytest.mark.parametrize("wrapper, usage", [("soak", "usage: pytest-soak soak"),
                                            ("report", "usage: pytest-soak report")])
def test_the_bash_wrappers_reach_the_plugins_commands(checkout_copy: Path, wrapper: str,
                                                      usage: str) -> None:
    done = run_command(["bash", f"scripts/{wrapper}", "--help"], cwd=checkout_copy,
                       env=copy_env(checkout_copy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert usage in done.stdout
