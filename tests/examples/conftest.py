"""The example pipeline run for real against a real replay feed (loopback), and helpers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import yaml

from pytest_soak.procs import kill_tree, popen_logged, send_stop
from pytest_soak.replay_feed import ReplayFeed

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "asyncio_pipeline"
SPEC = EXAMPLE / "soak.yaml"
STAGES = ("ingest", "compute", "publish")
# the soaks' length: D8's leak fit needs 5 market minutes of warm-up and 5 of steady state of
# one process per stage; ingest, killed at minute 2.5, has that by minute 13 (28 wall s at 30x)
SOAK_MINUTES = 14


def stage_regex() -> re.Pattern:
    """The soak spec's own regex: the tests name stage processes as the harness does."""
    return re.compile(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["stage_regex"])


@dataclass
class Pipeline:
    proc: subprocess.Popen
    run_dir: Path
    log_path: Path
    url: str | None = None

    def health(self) -> dict[str, Any]:
        if self.url is None:
            found = json.loads((self.run_dir / "example_pipeline.json").read_text("utf-8"))
            self.url = found["health_url"]
        return requests.get(self.url, timeout=2).json()

    def wait_health(self, ok: Callable[[dict], bool], timeout_s: float = 20.0,
                    what: str = "the expected health") -> dict[str, Any]:
        deadline, doc = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the supervisor exited:\n{self.log()}"
            try:
                doc = self.health()
                if ok(doc):
                    return doc
            except (OSError, ValueError, requests.RequestException):
                pass
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout_s} s; last: {doc}\n{self.log()}")

    def stage_processes(self) -> dict[str, list[psutil.Process]]:
        """The supervisor's live children named by the spec's stage regex."""
        out: dict[str, list[psutil.Process]] = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue
                found = stage_regex().search(" ".join(child.cmdline()))
            except psutil.Error:
                continue
            if found:
                out.setdefault(found.group("stage"), []).append(child)
        return out

    def stop(self, timeout_s: float = 30.0) -> int:
        send_stop(self.proc)
        return self.proc.wait(timeout_s)

    def summary(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "supervisor_summary.json").read_text("utf-8"))

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")[-4000:]


def all_healthy(doc: dict) -> bool:
    return all(doc["stages"][s]["state"] == "healthy" for s in STAGES)


def pipeline_argv(run_dir: Path, ws_base: str, *extra: str) -> list[str]:
    return [sys.executable, "-B", "-m", "examples.asyncio_pipeline", "--run-dir", str(run_dir),
            "--feed-ws-url", ws_base, "--mode", "replay", *extra]


@pytest.fixture
def feed() -> Iterator[ReplayFeed]:
    """A seeded market at 30x: a market minute (one bar per symbol) every 2 wall s."""
    started = ReplayFeed(generate_seed=1, speed=30).start()
    yield started
    started.stop()


@pytest.fixture
def start_pipeline(tmp_path: Path, feed: ReplayFeed) -> Iterator[Callable[..., Pipeline]]:
    """Start the supervisor (in its own process group, as the harness does), wait until
    every stage is healthy; the teardown ends whatever is left of it."""
    started: list[Pipeline] = []

    def start(*extra: str) -> Pipeline:
        n = len(started)
        run_dir, log_path = tmp_path / f"run{n}", tmp_path / f"pipeline{n}.log"
        proc = popen_logged(pipeline_argv(run_dir, feed.urls["ws_base"], *extra), log_path,
                            dict(os.environ), cwd=REPO)
        pipeline = Pipeline(proc, run_dir, log_path)
        started.append(pipeline)
        pipeline.wait_health(all_healthy, what="all stages healthy")
        return pipeline

    yield start
    for pipeline in started:
        if pipeline.proc.poll() is None:
            kill_tree(pipeline.proc.pid)
        pipeline.proc.wait(10)
