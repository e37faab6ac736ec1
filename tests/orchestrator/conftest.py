"""Fixture `pipeline_factory`: real supervisor runs that always leave no process behind."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.orch_support import Pipeline, SilentFeed, write_config


@pytest.fixture(scope="session")
def silent_feed() -> Iterator[SilentFeed]:
    feed = SilentFeed().start()
    yield feed
    feed.stop()


@pytest.fixture
def pipeline_factory(tmp_path: Path, silent_feed: SilentFeed) -> Iterator[Callable[..., Pipeline]]:
    made: list[Pipeline] = []

    def make(supervisor: dict[str, Any] | None = None, env: dict[str, str] | None = None,
             **sections: Any) -> Pipeline:
        index = len(made)
        sections.setdefault("feed", silent_feed.feed_section())
        config = write_config(tmp_path / f"config{index}.yaml", supervisor, **sections)
        full_env = {**os.environ, "V13_REPLAY_MODE": "1", **(env or {})}
        full_env.pop("SOAK_RUN_ID", None)
        pipe = Pipeline(tmp_path / f"run{index}", config, full_env)
        made.append(pipe)
        return pipe

    yield make
    for pipe in made:
        pipe.cleanup()
