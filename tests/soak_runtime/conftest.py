"""Shared fixtures for the soak runtime's own tests."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "soak" / "reference_pipeline.yaml"
# a project of pytester's names the pipeline it soaks, as this checkout's pyproject does
REFERENCE_INI = f"soak_config = {REFERENCE.as_posix()}\n"


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\n" + REFERENCE_INI)
    return pytester


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
