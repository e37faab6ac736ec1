"""Fixtures shared by the project's own tests."""

from __future__ import annotations

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
