"""Event time in the signal stage: two interleavings of one market give the same sink; a stage
killed while its reorder buffer holds records resumes from the oldest of them (nothing lost,
nothing applied twice); the depth settle rule makes the rows after a resync independent of
where harvest's snapshot let the diffs resume."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from orchestrator.config import load_config
from orchestrator.handoff import HandoffWriter
from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from orchestrator.signal.stage import SignalStage
from orchestrator.stage import StageContext
from pytest_soak.replay_feed.generator import MarketGenerator
from pytest_soak_evidence.sinks import read_jsonl_signals
from tests.signal.market_events import interleave

REPO = Path(__file__).resolve().parents[2]
SIGNAL = {"reorder_lateness_ms": 400, "checkpoint_interval_ms": 0, "batch_max_records": 300}


@pytest.fixture(scope="module")
def market() -> list[dict]:
    return list(MarketGenerator(seed=31, symbols=2).records(1.5))


def make_stage(run_dir: Path, tmp_path: Path) -> SignalStage:
    config_path = tmp_path / "config.yaml"
    if not config_path.exists():
        doc = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
        doc["signal"].update(SIGNAL)
        config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    ctx = StageContext(name="signal", run_dir=run_dir, run_id="t", config=load_config(config_path),
                       sink="jsonl", replay_mode=True, supervisor_pid=None,
                       log=logging.getLogger("test.signal"))
    stage = SignalStage(ctx)
    stage.setup()
    return stage


def write_handoff(run_dir: Path, records: list[dict]) -> None:
    writer = HandoffWriter(run_dir / "handoff" / "market")
    for record in records:
        writer.append(record)
    writer.close()


def run_to_end(stage: SignalStage) -> None:
    while stage.step():
        pass
    stage.flush()
    stage.close()


def rows_of(run_dir: Path) -> dict[str, dict]:
    rows, torn = read_jsonl_signals(run_dir / "sinks" / "signals.jsonl")
    assert torn == 0
    return {row["row_id"]: row for row in rows}


def test_two_interleavings_give_one_sink_and_a_kill_mid_buffer_loses_nothing(market, tmp_path):
    one, two = (interleave(market, delays, seed) for delays, seed in
                (({"market": 0, "public": 150}, 1), ({"market": 150, "public": 0}, 2)))
    assert one != two
    first, second = tmp_path / "one", tmp_path / "two"
    write_handoff(first, one)
    write_handoff(second, two)
    uninterrupted = make_stage(first, tmp_path)
    run_to_end(uninterrupted)
    expected = rows_of(first)
    assert len(expected) == sum(r["data"]["e"] == "aggTrade" for r in market)

    killed = make_stage(second, tmp_path)
    for _ in range(8):
        killed.step()
    held = len(killed.reorder)
    read_at = killed.reader.position
    committed = json.loads((second / "handoff" / "market" / "signal.offset.json").read_text())
    killed.sink.close()                      # a SIGKILL: no flush, the buffer is gone
    killed.writer.close()
    assert held > 0 and (committed["segment"], committed["offset"]) < read_at

    resumed = make_stage(second, tmp_path)
    run_to_end(resumed)
    assert rows_of(second) == expected
    section = resumed.manifest_sections()["signal_metrics"]
    assert section["restarts"] == 1 and section["replayed_skipped"] > 0
    assert section["event_order"]["late_events"] == 0
    assert section["aggtrade_ids"] == uninterrupted.engine.aggtrade_ids


def rows_with_gap(market: list[dict], resume_after: int, settle_ms: int) -> dict[str, dict]:
    """BTCUSDT's diff chain breaks after its 300th diff and resumes `resume_after` diffs later
    (harvest's resync: where depends on when its snapshot was taken)."""
    engine = SignalEngine(SignalConfig.from_section({"depth_settle_ms": settle_ms}))
    rows, seen = {}, 0
    for record in market:
        data = record["data"]
        if data["e"] == "depthUpdate" and data["s"] == "BTCUSDT":
            seen += 1
            if 300 < seen <= 300 + resume_after:
                continue
        row = engine.process(record)
        if row is not None:
            rows[row["row_id"]] = row
    assert engine.counters["depth_breaks"] == 1
    assert engine.counters["depth_slow_resyncs"] == 0 or settle_ms == 0
    return rows


def test_rows_after_a_resync_do_not_depend_on_where_the_diffs_resumed(market):
    ordered = sorted(market, key=lambda r: r["data"].get("T") or r["data"]["E"])
    assert rows_with_gap(ordered, 3, 3000) == rows_with_gap(ordered, 12, 3000)
    # the control: without the settle period they do
    assert rows_with_gap(ordered, 3, 0) != rows_with_gap(ordered, 12, 0)


@pytest.mark.parametrize("key, value", [("reorder_lateness_ms", -1),
                                        ("reorder_lateness_ms", "soon"),
                                        ("reorder_max_events", 0),
                                        ("depth_settle_ms", 1.5)])
def test_bad_event_time_settings_exit_2_naming_the_key(tmp_path, key, value):
    path = tmp_path / "config.yaml"
    doc = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
    doc["signal"][key] = value
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "orchestrator.stage_main", "signal",
                             "--config", str(path), "--run-dir", str(tmp_path / "r"),
                             "--run-id", "t"], capture_output=True, text=True, timeout=30,
                            cwd=REPO)
    assert result.returncode == 2 and key in result.stderr


def test_after_an_outage_depth_restarts_on_the_settle_grid_whenever_the_resync_came():
    """The first diff after a long break (an outage) is already past last + settle: the flow
    restarts at the next multiple of depth_settle_ms, the same for both resync moments."""
    starts = []
    for resumed_ms in (10_250, 10_900):
        feats = SignalEngine(SignalConfig.from_section({"depth_settle_ms": 1000})).features("X")
        feats.note_event(0)
        assert feats.on_depth(1_000, 1, True, [["1", "1"]], []) == "applied"
        assert feats.on_depth(resumed_ms, 50, False, [["1", "2"]], []) == "slow_resync"
        assert feats.on_depth(10_990, 51, True, [["1", "3"]], []) == "settling"
        assert feats.on_depth(11_000, 52, True, [["1", "4"]], []) == "applied"
        starts.append((feats.depth_from_ms, feats.depth.to_state(), feats.passive.to_state()))
    assert starts[0] == starts[1] and starts[0][0] == 11_000


@pytest.mark.parametrize("replay_mode", [False, True])
def test_the_idle_release_frees_held_rows_in_live_mode_only(tmp_path: Path,
                                                            replay_mode: bool) -> None:
    """LIVE: caught up and held 40 wall ms, rows go out with no newer event; REPLAY: event
    time alone (the held tail waits for the watermark, here for the stop)."""
    doc = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text(encoding="utf-8"))
    doc["signal"].update(SIGNAL, reorder_lateness_ms=60_000, reorder_idle_release_ms=40,
                         batch_max_records=5000)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    run_dir = tmp_path / "run"
    write_handoff(run_dir, list(MarketGenerator(seed=31, symbols=2).records(0.2)))
    ctx = StageContext(name="signal", run_dir=run_dir, run_id="t",
                       config=load_config(tmp_path / "config.yaml"), sink="jsonl",
                       replay_mode=replay_mode, supervisor_pid=None,
                       log=logging.getLogger("test.signal"))
    stage = SignalStage(ctx)
    stage.setup()
    stage.step()                                   # read all (a short read): held, just read
    assert stage.totals["rows_written"] == 0 and len(stage.reorder) > 0
    time.sleep(0.06)
    released = stage.step()
    stage.flush()
    stage.close()
    assert released is not replay_mode
    assert stage.reorder.counters["idle_released"] == (0 if replay_mode else
                                                       stage.engine.counters["aggTrade"]
                                                       + stage.engine.counters["bookTicker"]
                                                       + stage.engine.counters["depthUpdate"])
