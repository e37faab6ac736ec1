"""Shared fixtures for the soak runtime's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_schedule(tmp_path: Path):  # noqa: ANN201
    def write(text: str) -> Path:
        path = tmp_path / "schedule.yaml"
        path.write_text(text, encoding="utf-8")
        return path
    return write
