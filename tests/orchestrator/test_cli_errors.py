"""Bad usage or configuration: exit code 2 and one line naming the key or value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.orchestrator.orch_support import REPO, write_config


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.run", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def bad_config(tmp_path: Path, edit) -> Path:
    path = write_config(tmp_path / "config.yaml")
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc))
    return path


CASES = {
    "unknown_key": (lambda d: d["supervisor"].update(heartbeat_intervall_s=1),
                    "heartbeat_intervall_s"),
    "unknown_section": (lambda d: d.update(bogus={}), "bogus"),
    "wrong_type": (lambda d: d["supervisor"].update(stop_grace_s="ten"), "stop_grace_s"),
    "bad_nested_value": (lambda d: d["supervisor"]["restart"].update(max_restarts=-1),
                         "max_restarts"),
    "bad_symbol": (lambda d: d["run"].update(symbols=["btc usdt"]), "symbols"),
    "bad_timeseries_api": (lambda d: d.setdefault("timeseries", {}).update(api="v3"),
                           "timeseries.api"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, case: str) -> None:
    edit, key = CASES[case]
    result = run_cli("--config", str(bad_config(tmp_path, edit)), "--run-dir",
                     str(tmp_path / "run"), "--minutes", "1")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]
    assert not (tmp_path / "run").exists()        # nothing started


@pytest.mark.parametrize("args,needle", [
    (["--config", "no/such/file.yaml"], "no/such/file.yaml"),
    (["--minutes", "0"], "--minutes"),
    (["--minutes", "-3"], "--minutes"),
    (["--enable", "harvest,tracer"], "tracer"),
    (["--sink", "csv"], "csv"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = run_cli("--run-dir", str(tmp_path / "run"), *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_bad_env_override_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", "--config", "config/defaults.yaml",
         "--run-dir", str(tmp_path / "run")], cwd=REPO, capture_output=True, text=True,
        timeout=60, env={**__import__("os").environ, "V13_REPLAY_MODE": "yes"})
    assert result.returncode == 2
    assert "V13_REPLAY_MODE" in result.stderr
