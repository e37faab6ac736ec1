"""pytest-soak plugin: options, markers and hooks. The work lives in the sibling modules."""

from __future__ import annotations

import pytest

MARKERS = {
    "live": "LIVE soak: 1x pacing, wall-clock freshness, 60 minutes by default",
    "replay": "REPLAY soak: time-compressed market time (the CI gate)",
    "fault": "a test that injects a fault into the pipeline",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
