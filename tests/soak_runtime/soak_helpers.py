"""Helpers for the soak runtime's own tests: settings for a short soak of the mini pipeline."""

from __future__ import annotations

from pathlib import Path

from pytest_soak.settings import SoakSettings

HERE = Path(__file__).resolve().parent
MINI_SPEC = HERE / "mini_pipeline.yaml"


def mini_settings(tmp_path: Path, **values: str) -> SoakSettings:
    """Settings for a short soak of the mini pipeline: no feed, no store, 30x."""
    raw = {"soak_minutes": "1", "soak_speed": "30", "soak_feed": "exchange",
           "soak_timeseries": "none", "soak_config": str(MINI_SPEC),
           "soak_schedule": "none", "soak_run_dir": str(tmp_path / "runs"),
           "soak_startup_timeout_s": "20", "soak_stop_timeout_s": "20"}
    raw.update(values)
    return SoakSettings.from_values(raw, root=tmp_path)
