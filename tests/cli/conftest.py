"""Helpers for the command-line tests: run this checkout's code in a child Python, as a user's
shell would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]


def child_env(**overrides: str) -> dict[str, str]:
    """This checkout's packages first, whatever else is installed (an editable install of
    another clone must not answer for this one)."""
    return {**os.environ, "PYTHONPATH": str(REPO), **overrides}


def run_command(argv: list[str], cwd: Path = REPO, env: dict[str, str] | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
    """ARGV to its end; on a timeout its whole process tree is killed (a wrapper runs pytest as
    a grandchild, which killing the child alone would leave running)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env or child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def run_python() -> Callable[..., subprocess.CompletedProcess]:
    """`python ARGS` (this interpreter), as run_command."""
    def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return run_command([sys.executable, *args], **kwargs)
    return run


@pytest.fixture
def no_npx_path(tmp_path: Path) -> str:
    """A PATH with no npx on it: nothing but promtool (D3's cross-check runs it; without it
    D3 is rightly unknown), linked in where installed."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    promtool = shutil.which("promtool")
    if promtool:
        try:
            (empty / Path(promtool).name).symlink_to(promtool)
        except OSError:         # Windows without the symlink privilege
            shutil.copy2(promtool, empty)
    return str(empty)
