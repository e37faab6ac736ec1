"""Shared fixtures for the soak runtime's own tests."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest


@pytest.fixture
def write_schedule(tmp_path: Path):  # noqa: ANN201
    def write(text: str) -> Path:
        path = tmp_path / "schedule.yaml"
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture
def sigint_raises():  # noqa: ANN201
    """Ctrl+C raises KeyboardInterrupt here even where pytest was started with SIGINT ignored
    (a background job of a non-interactive shell inherits SIG_IGN, and Python then installs
    no handler of its own)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
