"""The example pipeline against a real replay feed: health, restarts, the ordered stop."""

from __future__ import annotations

import json
import os
import time

import jsonschema
import psutil
import pytest
import requests

from tests.examples.conftest import REPO, STAGES, Pipeline, all_healthy

HEALTH_SCHEMA = json.loads((REPO / "schemas" / "health.schema.json").read_text("utf-8"))


def bars(pipeline: Pipeline) -> list[dict]:
    path = pipeline.run_dir / "out" / "bars.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def wait_bars(pipeline: Pipeline, more_than: int, timeout_s: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = bars(pipeline)
        if len(got) > more_than:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no more than {more_than} bars in {timeout_s} s\n{pipeline.log()}")


def test_health_names_the_live_stage_processes(start_pipeline) -> None:
    pipeline = start_pipeline()
    doc = pipeline.health()
    jsonschema.validate(doc, HEALTH_SCHEMA)
    assert doc["pid"] == pipeline.proc.pid and doc["phase"] == "running"
    assert doc["state"] == "healthy" and doc["mode"] == "replay"
    seen = pipeline.stage_processes()
    for stage in STAGES:
        assert [p.pid for p in seen[stage]] == [doc["stages"][stage]["pid"]], stage
    assert requests.get(pipeline.url.replace("/health", "/nope"), timeout=2).status_code == 404


def test_bars_are_per_symbol_minutes_with_a_vwap_inside_the_range(start_pipeline) -> None:
    pipeline = start_pipeline()
    got = wait_bars(pipeline, 4)
    assert {b["symbol"] for b in got} == {"BTCUSDT", "ETHUSDT"}
    for bar in got:
        assert bar["minute_ms"] % 60_000 == 0 and bar["trades"] > 0
        assert bar["low"] <= bar["vwap"] <= bar["high"], bar
    full = [b for b in got if not b["partial"]]
    assert full and all(b["missing_ids"] == 0 for b in full)
    assert all(b["last_id"] - b["first_id"] + 1 == b["trades"] for b in full)


@pytest.mark.parametrize("stage", ["compute", "ingest"])
def test_a_killed_stage_comes_back_under_a_new_pid(start_pipeline, stage: str) -> None:
    pipeline = start_pipeline()
    old = pipeline.health()["stages"][stage]["pid"]
    psutil.Process(old).kill()
    doc = pipeline.wait_health(
        lambda d: d["stages"][stage]["pid"] not in (None, old) and all_healthy(d),
        timeout_s=10, what=f"{stage} healthy under a new pid")
    entry = doc["stages"][stage]
    assert entry["restart_count"] == 1 and not entry["gave_up"]
    assert entry["last_exit"]["pid"] == old
    if os.name == "posix":
        assert entry["last_exit"]["signal"] == "SIGKILL"
    assert [p.pid for p in pipeline.stage_processes()[stage]] == [entry["pid"]]
    others = [s for s in STAGES if s != stage]
    assert all(doc["stages"][s]["restart_count"] == 0 for s in others)
    count = len(bars(pipeline))
    assert len(wait_bars(pipeline, count)) > count          # the flow goes on


def test_sigint_stops_downstream_first_and_exits_0(start_pipeline) -> None:
    pipeline = start_pipeline()
    wait_bars(pipeline, 1)
    pids = {s: p[0] for s, p in pipeline.stage_processes().items()}
    assert pipeline.stop() == 0, pipeline.log()
    summary = pipeline.summary()
    assert [e["stage"] for e in summary["shutdown"]] == ["publish", "compute", "ingest"]
    assert all(e["code"] == 0 and not e["forced"] for e in summary["shutdown"])
    assert [e["pid"] for e in summary["shutdown"]] == [pids[s].pid for s in
                                                         ("publish", "compute", "ingest")]
    stopped = [e["stopped_ms"] for e in summary["shutdown"]]
    assert stopped == sorted(stopped) and len(set(stopped)) == 3
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                   for p in pids.values())
    written = summary["stages"]["publish"]["counters"]["bars_written"]
    assert written == len(bars(pipeline)) > 0        # every line whole, nothing after close
    files = sorted(str(p.relative_to(pipeline.run_dir)) for p in pipeline.run_dir.rglob("*")
                   if p.is_file())
    assert files == ["example_pipeline.json", "out/bars.jsonl", "supervisor_summary.json"]


def test_restart_never_leaves_a_killed_stage_dead(start_pipeline) -> None:
    pipeline = start_pipeline("--restart", "never")
    old = pipeline.health()["stages"]["compute"]["pid"]
    psutil.Process(old).kill()
    doc = pipeline.wait_health(lambda d: d["stages"]["compute"]["gave_up"], timeout_s=10,
                               what="compute given up")
    time.sleep(1.0)                    # past the first restart delay (0.2 s) of `always`
    doc = pipeline.health()
    jsonschema.validate(doc, HEALTH_SCHEMA)
    compute = doc["stages"]["compute"]
    assert compute["state"] == "unhealthy" and compute["pid"] is None
    assert compute["restart_count"] == 0 and compute["last_exit"]["pid"] == old
    assert doc["state"] == "degraded" and "compute" not in pipeline.stage_processes()
    assert all(doc["stages"][s]["state"] == "healthy" for s in ("ingest", "publish"))
    assert pipeline.stop() == 1                         # a stage did not end cleanly
    assert pipeline.summary()["stages"]["compute"]["gave_up"] is True


def test_malformed_feed_frames_are_counted_logged_once_and_survived(start_pipeline,
                                                                    feed) -> None:
    pipeline = start_pipeline()
    ingest = pipeline.health()["stages"]["ingest"]["pid"]
    for kind in ("non_json", "missing_field", "wrong_type", "binary"):
        feed.control("malformed", kind=kind, stream="btcusdt@aggTrade", count=3)
    count = len(bars(pipeline))
    wait_bars(pipeline, count)                          # trades still flow into bars
    doc = pipeline.health()
    assert doc["stages"]["ingest"]["pid"] == ingest and all_healthy(doc)
    assert pipeline.stop() == 0
    assert pipeline.summary()["stages"]["ingest"]["counters"]["malformed_frames"] == 12
    log = pipeline.log_path.read_text("utf-8")
    warned = [line for line in log.splitlines() if "malformed feed frame" in line]
    # one line per kind of problem: not JSON (non_json, binary), a bad aggTrade (the others)
    assert len(warned) == 2, warned
    assert all("Sample: " in line for line in warned)


def test_a_killed_supervisor_leaves_no_stage_behind(start_pipeline) -> None:
    pipeline = start_pipeline()
    stages = [p[0] for p in pipeline.stage_processes().values()]
    psutil.Process(pipeline.proc.pid).kill()           # no ordered stop: stdin EOF instead
    pipeline.proc.wait(10)
    _gone, alive = psutil.wait_procs(stages, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_quick_deaths_back_off_doubling(start_pipeline) -> None:
    pipeline = start_pipeline()
    gaps = []
    for n in range(1, 4):
        old = pipeline.health()["stages"]["compute"]["pid"]
        killed = time.monotonic()
        psutil.Process(old).kill()
        pipeline.wait_health(lambda d, old=old: d["stages"]["compute"]["pid"] not in (None, old),
                             timeout_s=10, what=f"a new compute pid ({n})")
        gaps.append(time.monotonic() - killed)            # kill -> new pid in /health
        pipeline.wait_health(all_healthy, timeout_s=10, what=f"healthy after restart {n}")
    assert pipeline.health()["stages"]["compute"]["restart_count"] == 3
    # 0.2, 0.4, 0.8 s (each life was shorter than the 10 s that resets the delay)
    for gap, delay in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert delay <= gap < delay + 1.0, gaps


def test_a_dropped_feed_connection_is_reopened_by_the_same_ingest(start_pipeline,
                                                                  feed) -> None:
    pipeline = start_pipeline()
    ingest = pipeline.health()["stages"]["ingest"]["pid"]
    feed.control("drop", mode="abort")
    pipeline.wait_health(lambda d: not d["stages"]["ingest"]["ready"], timeout_s=5,
                         what="ingest not ready after the drop")
    doc = pipeline.wait_health(all_healthy, timeout_s=10, what="ingest connected again")
    assert doc["stages"]["ingest"]["pid"] == ingest
    assert doc["stages"]["ingest"]["restart_count"] == 0
    count = len(bars(pipeline))
    wait_bars(pipeline, count)
