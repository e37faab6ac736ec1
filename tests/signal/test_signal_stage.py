"""The signal stage as a real process: market handoff in, dual sink + signals topic out;
SIGKILL mid-run and restart gives exactly the rows of an uninterrupted computation."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from orchestrator.handoff import HandoffReader, HandoffWriter
from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from orchestrator.signal.reorder import ReorderBuffer
from pytest_soak.replay_feed.generator import MarketGenerator
from pytest_soak_evidence.schemas import validate
from pytest_soak_evidence.sinks import read_jsonl_signals, read_sqlite_signals
from tests.orchestrator.orch_support import read_json
from tests.signal.market_events import feed

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "defaults.yaml"


@pytest.fixture(scope="module")
def market() -> list[dict]:
    return list(MarketGenerator(seed=21, symbols=2).records(8))


CFG = SignalConfig.from_section(None)


@pytest.fixture(scope="module")
def expected(market) -> dict[str, dict]:
    """The rows of the market in event-time order (the stage's reorder buffer's)."""
    ordered = feed(ReorderBuffer(CFG.reorder_lateness_ms, CFG.reorder_max_events), market)
    engine = SignalEngine(CFG)
    return {row["row_id"]: row for row in map(engine.process, ordered) if row is not None}


def released_while_running(market: list[dict]) -> int:
    """Signals the running stage emits: the reorder buffer holds the trades of the last
    reorder_lateness_ms of event time until the stream goes on, or the stage stops."""
    times = [r["data"].get("T") or r["data"]["E"] for r in market]
    watermark = max(times) - CFG.reorder_lateness_ms
    return sum(1 for r, t in zip(market, times, strict=True)
               if r["data"]["e"] == "aggTrade" and t <= watermark)


def write_market(run_dir: Path, market: list[dict], chunks: int = 1, pause_s: float = 0.0) -> None:
    """Append the market to the handoff as harvest would: in `chunks`, `pause_s` apart."""
    writer = HandoffWriter(run_dir / "handoff" / "market")
    size = -(-len(market) // chunks)
    for start in range(0, len(market), size):
        for record in market[start:start + size]:
            writer.append(record)
        time.sleep(pause_s)
    writer.close()


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture
def stage(run_dir, spawned):
    starts = iter(range(1000))

    def start() -> subprocess.Popen:
        (run_dir / "control" / "signal.stop").unlink(missing_ok=True)
        return spawned(
            [sys.executable, "-m", "orchestrator.stage_main", "signal", "--config", str(CONFIG),
             "--run-dir", str(run_dir), "--sink", "dual", "--run-id", "test-run"],
            run_dir / f"signal{next(starts)}.log", cwd=REPO)

    return start


def status(run_dir: Path) -> dict:
    return read_json(run_dir / "status" / "signal.json") or {}


def wait_for_signals(run_dir: Path, at_least: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (status(run_dir).get("metrics") or {}).get("signals", 0) >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"the stage did not reach {at_least} signals: {status(run_dir)}")


def stop(run_dir: Path, proc: subprocess.Popen) -> None:
    (run_dir / "control").mkdir(exist_ok=True)
    (run_dir / "control" / "signal.stop").touch()
    assert proc.wait(timeout=30) == 0


def check_outputs(run_dir: Path, expected: dict[str, dict]) -> None:
    for reader, name in ((read_jsonl_signals, "signals.jsonl"),
                         (read_sqlite_signals, "signals.sqlite")):
        rows, torn = reader(run_dir / "sinks" / name)
        ids = [r["row_id"] for r in rows]
        assert len(ids) == len(set(ids)), f"duplicate rows in {name}"
        assert {r["row_id"]: r for r in rows} == expected, f"{name} differs"
        assert torn == 0
    topic = HandoffReader(run_dir / "handoff" / "signals", "test")
    seen: set[str] = set()
    while batch := topic.read(5000):
        seen.update(r["row_id"] for r in batch)
    assert seen == set(expected)


@pytest.mark.slow
def test_stage_consumes_market_and_fills_both_sinks(run_dir, stage, expected, market):
    write_market(run_dir, market)
    proc = stage()
    wait_for_signals(run_dir, released_while_running(market))
    assert (status(run_dir)["metrics"]["event_order"]["buffered"]) > 0
    stop(run_dir, proc)                 # the stop releases what the buffer held, in order
    check_outputs(run_dir, expected)
    final = status(run_dir)
    section = final["manifest"]["signal_metrics"]
    validate(section, "manifest/signal_metrics")
    trades = [r["data"] for r in market if r["data"]["e"] == "aggTrade"]
    btc = [t["a"] for t in trades if t["s"] == "BTCUSDT"]
    assert section["aggtrade_ids"]["BTCUSDT"] == {"first": btc[0], "last": btc[-1],
                                                  "count": len(btc)}
    assert section["rows_written"] == len(expected) and section["duplicates_skipped"] == 0
    runtime = json.loads((run_dir / "runtime_state.json").read_text())
    assert runtime["mode"] in ("replay", "live") and set(runtime["symbols"]) == {"BTCUSDT",
                                                                               "ETHUSDT"}


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_gives_the_same_rows(run_dir, stage, expected, market):
    # The market arrives over ~4 s, as from harvest: the stage (which computes the whole of it
    # in well under a heartbeat) is still busy with a live stream when it is killed.
    feeder = threading.Thread(target=write_market, args=(run_dir, market, 40, 0.1))
    feeder.start()
    first = stage()
    wait_for_signals(run_dir, len(expected) // 3)
    psutil.Process(first.pid).kill()
    first.wait(timeout=10)
    assert (status(run_dir).get("metrics") or {}).get("signals", 0) < len(expected)
    feeder.join()
    second = stage()
    wait_for_signals(run_dir, released_while_running(market))
    stop(run_dir, second)
    check_outputs(run_dir, expected)
    section = status(run_dir)["manifest"]["signal_metrics"]
    assert section["restarts"] == 1
    assert section["sinks"]["jsonl"]["rows_written"] > 0, "the kill did not land mid-run"
    # rows the killed process wrote after its last checkpoint come back as duplicates
    assert section["rows_written"] + section["duplicates_skipped"] == len(expected)
