"""Fixtures shared by the project's own tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def spawned() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a child process with its output in a log file; every one is killed (if still
    running) and reaped at teardown, so no test leaves a process behind."""
    procs: list[subprocess.Popen] = []

    def start(argv: list[str], log_path: Path, **popen_kwargs) -> subprocess.Popen:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **popen_kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def good_run_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded run folder every D-item passes on (tests/soak_checks/factory.py); never
    changed: tests change their own copy, `good_run_dir`."""
    from tests.soak_checks.factory import good_run
    return good_run(tmp_path_factory.mktemp("good"))


@pytest.fixture
def good_run_dir(good_run_template: Path, tmp_path: Path) -> Path:
    shutil.copytree(good_run_template, tmp_path / "run")
    return tmp_path / "run"
