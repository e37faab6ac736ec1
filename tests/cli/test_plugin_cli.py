"""The plugin's own commands (`python -m pytest_soak`, console script `pytest-soak`): argument
handling and delegation, run for real in a child process over recorded run folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_soak import cli
from pytest_soak.checks import ITEM_IDS
from tests.cli.conftest import child_env
from tests.soak_checks.factory import rewrite

needs_npx = pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) not installed")


def test_judge_passes_a_good_run_and_writes_its_dod(run_python, good_run_dir: Path) -> None:
    done = run_python("-m", "pytest_soak", "judge", str(good_run_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: pass (ok)" in done.stdout
    assert json.loads((good_run_dir / "dod.json").read_text())["verdict"] == "pass"


def test_judge_exits_1_when_the_pipeline_failed(run_python, good_run_dir: Path) -> None:
    rewrite(good_run_dir, "run_manifest.json", lambda m: m["resource_usage"].update(max_rss_mb=4.0))
    done = run_python("-m", "pytest_soak", "judge", str(good_run_dir))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "D8 fail" in done.stdout and "verdict: fail (pipeline)" in done.stdout


def test_a_command_is_required_and_stray_arguments_are_refused(run_python) -> None:
    assert run_python("-m", "pytest_soak").returncode == 2
    done = run_python("-m", "pytest_soak", "report", "results", "--bogus")
    assert done.returncode == 2 and "unrecognized arguments: --bogus" in done.stderr


def test_soak_runs_the_suite_with_the_rest_for_pytest_and_returns_its_code(
        run_python, good_run_dir: Path, tmp_path: Path, no_npx_path: str) -> None:
    """Judge-only (--soak-from-run): the whole DoD suite through `soak`, starting nothing. The
    report cannot be built without npx; the exit code stays pytest's."""
    alluredir = tmp_path / "allure"
    args = ("-m", "pytest_soak", "soak", "--replay", f"--alluredir={alluredir}",
            "--soak-from-run", str(good_run_dir), "--soak-schedule", "none",
            "-p", "no:cacheprovider", "-q")
    done = run_python(*args, env=child_env(PATH=no_npx_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ITEM_IDS)} passed" in done.stdout
    assert len(list(alluredir.glob("*-result.json"))) == len(ITEM_IDS)
    assert "soak: the Allure report could not be built" in done.stderr
    rewrite(good_run_dir, "run_manifest.json", lambda m: m["resource_usage"].update(max_rss_mb=4.0))
    again = run_python(*args, "--no-report")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "could not be built" not in again.stderr
    results = list(alluredir.glob("*-result.json"))
    assert len(results) == len(ITEM_IDS), "the old results were cleared"


def test_soak_selects_live_unless_replay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    live = cli.pytest_argv(False, Path("res"), ["-x"])
    assert live[live.index("-m") + 1] == "live" and live[-1] == "-x"
    assert "-m" not in cli.pytest_argv(True, Path("res"), [])
    assert "--alluredir=res" in live and "--clean-alluredir" in live


def test_the_suite_is_the_checkouts_when_there_is_one(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.suite_target() == ["--pyargs", "pytest_soak.suite"]
    (tmp_path / "suites" / "soak").mkdir(parents=True)
    assert cli.suite_target() == ["suites/soak"]


def test_report_without_npx_says_what_it_needs(run_python, tmp_path: Path,
                                              no_npx_path: str) -> None:
    (tmp_path / "results").mkdir()
    done = run_python("-m", "pytest_soak", "report", str(tmp_path / "results"),
                      env=child_env(PATH=no_npx_path))
    assert done.returncode == 1
    assert "report: npx (Node.js >= 20 with npm" in done.stderr
    assert not (tmp_path / "artifacts").exists()


@needs_npx
def test_report_without_results_says_so(run_python, tmp_path: Path) -> None:
    done = run_python("-m", "pytest_soak", "report", str(tmp_path / "nothing"), cwd=tmp_path)
    assert done.returncode == 1 and "report: no results in" in done.stderr


@needs_npx
def test_report_never_replaces_a_folder_that_is_not_a_report(run_python, tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    done = run_python("-m", "pytest_soak", "report", str(tmp_path / "results"),
                      "--output", str(keep))
    assert done.returncode == 1 and "not an Allure report" in done.stderr
    assert (keep / "notes.txt").read_text() == "mine"


@needs_npx
@pytest.mark.slow
def test_report_builds_one_self_contained_file(run_python, tmp_path: Path) -> None:
    """The real Allure Report 3 (npx; from the npm cache or the registry) over real results."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert True\n")
    results = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--alluredir={results}", "test_one.py"], cwd=tmp_path, check=True,
                   capture_output=True)
    output = tmp_path / "out"
    output.mkdir()
    (output / "index.html").write_text("an older report")
    done = run_python("-m", "pytest_soak", "report", str(results), "--output", str(output),
                      cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"report: open {output / 'index.html'}" in done.stdout
    html = (output / "index.html").read_text()
    assert cli.REPORT_NAME in html and "an older report" not in html
