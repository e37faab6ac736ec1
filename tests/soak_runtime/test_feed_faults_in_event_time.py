"""The runner hands the feed faults to the feed up front and records, for each, the exact
events at which the feed applied it (a real feed sidecar; no pipeline needed)."""

from __future__ import annotations

import json
import time

import pytest
from jsonschema import Draft202012Validator

from pytest_soak.fault_actions import FaultContext, FaultRunner
from pytest_soak.faults import parse_schedule
from pytest_soak.history import History
from pytest_soak.sidecars import FeedSidecar
from pytest_soak_evidence.schemas import SCHEMA_DIR, _registry

SPEED = 30
SCHEDULE = {"name": "event-time", "seed": 1, "faults": [
    {"id": "gap", "kind": "gap", "target": "btcusdt", "at_s": 20},
    {"id": "pause", "kind": "pause_feed", "at_s": 30, "until_s": 45},
    {"id": "choppy", "kind": "regime", "params": {"regime": "choppy"}, "at_s": 50,
     "until_s": 60}]}


@pytest.fixture
def feed(tmp_path):  # noqa: ANN001, ANN201
    sidecar = FeedSidecar(tmp_path, speed=SPEED, seed=3, symbols=["BTCUSDT", "ETHUSDT"],
                          live=False, start_on="now")
    sidecar.start()
    yield sidecar
    sidecar.stop()


def fault_validator() -> Draft202012Validator:
    full = json.loads((SCHEMA_DIR / "harness_observations.schema.json").read_text())
    return Draft202012Validator({"$defs": full["$defs"], **full["properties"]["faults"]},
                                registry=_registry())


def test_feed_faults_are_applied_at_their_exact_event_times(feed, tmp_path) -> None:  # noqa: ANN001
    start_event_ms = feed.state()["market_ms"]

    def market_s() -> float:
        return (feed.state()["market_ms"] - start_event_ms) / 1000

    history = History(tmp_path)
    ctx = FaultContext(feed=feed, store=None, observer=None, read_status=None,
                       market_s=market_s, event_ms=lambda: None, speed=SPEED,
                       start_event_ms=start_event_ms)
    runner = FaultRunner(parse_schedule(SCHEDULE), ctx, history)
    deadline = time.monotonic() + 10
    while (now := market_s()) < 70 and time.monotonic() < deadline:
        runner.step(now)
        time.sleep(0.05)
    runner.finish(market_s())
    history.close()
    session0 = start_event_ms - feed.state()["session_start_ms"]
    faults = history.fault_list()
    errors = [e.message for e in fault_validator().iter_errors(faults)]
    assert errors == []
    for rec in faults:
        applied = rec["applied"]
        assert rec["effect_confirmed"] and rec["error"] is None, rec
        planned = session0 + rec["planned_start_s"] * 1000
        assert applied["planned_start_session_ms"] == round(planned)
        # the first event at/after the planned time (events are < 100 ms apart)
        assert planned <= applied["start"]["session_ms"] < planned + 100, rec["id"]
        assert rec["start_event_ms"] == applied["start"]["event_ms"]
        if rec["planned_end_s"] != rec["planned_start_s"]:
            end = session0 + rec["planned_end_s"] * 1000
            assert end <= applied["end"]["session_ms"] < end + 100, rec["id"]
            assert rec["end_event_ms"] == applied["end"]["event_ms"]
    pause = next(r for r in faults if r["id"] == "pause")
    assert pause["applied"]["in_window"]["delivered"] == 0
    assert pause["applied"]["in_window"]["skipped"] > 100
