"""Bad options: exit code 2 and a message naming the option, before anything starts."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.examples.conftest import REPO

GOOD = ["--feed-ws-url", "ws://127.0.0.1:9"]


def run(argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-B", "-m", "examples.asyncio_pipeline",
                           "--run-dir", str(tmp_path / "run"), *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(("argv", "named"), [
    (["--feed-ws-url", "http://127.0.0.1:9"], "--feed-ws-url"),
    ([*GOOD, "--symbols", ""], "--symbols"),
    ([*GOOD, "--symbols", "btcusdt,btcusdt"], "--symbols"),
    ([*GOOD, "--symbols", "BTC-USDT"], "--symbols"),
    ([*GOOD, "--restart", "sometimes"], "--restart"),
    ([*GOOD, "--health-port", "70000"], "--health-port"),
    ([*GOOD, "--health-port", "x"], "--health-port"),
    ([*GOOD, "--minutes", "-1"], "--minutes"),
    ([*GOOD, "--stream-path", "market/stream"], "--stream-path"),
    ([*GOOD, "--max-event-age-s", "0"], "--max-event-age-s"),
    ([*GOOD, "--mode", "fast"], "--mode"),
    (["--symbols", "btcusdt"], "--feed-ws-url"),               # required
    ([*GOOD, "--no-such-option"], "--no-such-option"),
])
def test_a_bad_option_exits_2_naming_it(tmp_path, argv: list[str], named: str) -> None:
    done = run(argv, tmp_path)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert not (tmp_path / "run").exists()             # nothing started, nothing written


def test_a_health_port_in_use_exits_2_naming_it(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run([*GOOD, "--health-port", str(port)], tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"--health-port {port}: cannot listen" in done.stderr
    assert not (tmp_path / "run" / "example_pipeline.json").exists()
