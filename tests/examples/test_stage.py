"""A stage process on its own: the stop line ends it with exit code 0, whatever its stdin
does after that; data it cannot read is counted, not fatal."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.examples.conftest import REPO


def start(stage: str, tmp_path) -> subprocess.Popen:
    argv = [sys.executable, "-B", "-m", "examples.asyncio_pipeline.stage", stage,
            "--run-dir", str(tmp_path), "--feed-url", "ws://127.0.0.1:9/market/stream"]
    return subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.mark.parametrize("stage", ["ingest", "compute", "publish"])
def test_the_stop_line_ends_a_stage_with_0_while_its_stdin_stays_open(tmp_path,
                                                                      stage: str) -> None:
    proc = start(stage, tmp_path)
    try:
        proc.stdin.write(b'{"t":"trade"}\nnot json\n{"t":"stop"}\n')
        proc.stdin.flush()
        # stdin is not closed: its reader thread is still blocked reading it at the exit
        code = proc.wait(15)
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait(5)
    assert code == 0, err
    beats = [json.loads(line) for line in proc.stdout.read().splitlines()
             if line.startswith(b'{"t":"hb"')]
    assert beats and beats[-1]["ready"] is False      # the final heartbeat, at the stop
    assert beats[-1]["malformed"] == 2                # both bad lines counted
    assert err.count("malformed input line") == 2     # once per kind of problem
