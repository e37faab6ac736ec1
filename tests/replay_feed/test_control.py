"""The control API: each call says what it did and when; bad calls get clear errors."""

from __future__ import annotations

import time

import requests

from pytest_soak.replay_feed.generator import EPOCH_MS
from tests.replay_feed.conftest import FIXTURE


def post(feed, path: str, body: dict | None = None) -> requests.Response:
    return requests.post(f"{feed.urls['control_base']}/{path}", json=body or {}, timeout=5)


def test_each_call_reports_what_and_when(make_feed):
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    before = int(time.time() * 1000)
    start = post(feed, "pause", {"stream": "btcusdt@aggTrade"}).json()
    end = post(feed, "pause/end", {"stream": "btcusdt@aggTrade"}).json()
    assert (start["fault"], start["action"], end["action"]) == ("pause", "start", "end")
    assert before <= start["wall_ms"] <= end["wall_ms"] <= int(time.time() * 1000)
    state = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()
    session_ms = start["market_ms"] - state["session_start_ms"]    # 1x: market paces wall
    assert abs(session_ms - (start["wall_ms"] - state["session_start_wall_ms"])) < 1_000
    # REPLAY: the source's own times plus whole days, the first stamp not after the start
    assert (state["session_start_ms"] - EPOCH_MS) % 86_400_000 == 0
    assert 0 <= state["session_start_wall_ms"] - state["session_start_ms"] < 86_400_000
    history = requests.get(f"{feed.urls['control_base']}/history", timeout=5).json()
    assert [h["id"] for h in history] == [start["id"], end["id"]]


def test_duration_ends_a_fault_by_itself(make_feed):
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    post(feed, "burst", {"factor": 20, "duration_ms": 200})
    state = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()
    assert state["burst_factor"] == 20
    time.sleep(0.5)
    history = requests.get(f"{feed.urls['control_base']}/history", timeout=5).json()
    assert [h["action"] for h in history] == ["start", "end"]
    assert requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()["burst_factor"] == 1


def test_burst_raises_the_event_rate_and_leaves_the_clock_alone(make_feed):
    """REPLAY too: a burst packs 50x the source into each market second (the same stamps in
    every run); the clock keeps the soak's pace."""
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    base = f"{feed.urls['control_base']}/state"
    time.sleep(0.3)
    before = requests.get(base, timeout=5).json()
    time.sleep(0.4)
    plain = requests.get(base, timeout=5).json()
    record = post(feed, "burst", {"factor": 50}).json()
    at_start = requests.get(base, timeout=5).json()
    time.sleep(0.4)
    state = requests.get(base, timeout=5).json()
    assert state["market_ms"] - record["market_ms"] < 1_000        # 0.4 s wall x 1
    assert state["rate"] == 1 and record["rate"] == 50
    normal = plain["delivered"] - before["delivered"]
    assert state["delivered"] - at_start["delivered"] > 10 * max(normal, 1)


def test_regime_switch_needs_the_generator_and_a_known_regime(make_feed):
    generated = make_feed(generate_seed=2, speed=1, start_on="now")
    assert post(generated, "regime", {"regime": "choppy"}).json()["regimes"] == {
        "BTCUSDT": "choppy", "ETHUSDT": "choppy"}
    assert post(generated, "regime", {"regime": "wild"}).status_code == 400
    replayed = make_feed(recording=FIXTURE, speed=1, start_on="now")
    refused = post(replayed, "regime", {"regime": "quiet"})
    assert refused.status_code == 409 and "--generate" in refused.json()["error"]


def test_unknown_control_and_missing_parameters(make_feed):
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    assert post(feed, "explode").status_code == 404
    missing = post(feed, "stall")
    assert missing.status_code == 400 and "stream" in missing.json()["error"]
    assert post(feed, "gap", {"symbol": "NOPEUSDT"}).status_code == 400


def test_rest_fail_makes_depth_snapshots_fail(make_feed):
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    post(feed, "rest_fail", {"count": 1})
    url = f"{feed.urls['rest_base']}/fapi/v1/depth?symbol=BTCUSDT&limit=5"
    assert requests.get(url, timeout=5).status_code == 503
    assert requests.get(url, timeout=5).status_code == 200


def test_the_feed_keeps_an_account_of_its_last_burst(make_feed):
    """The harness proves a burst from this account, even when the burst is long over."""
    feed = make_feed(generate_seed=2, speed=1, start_on="now")
    state = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()
    assert state["last_burst"] is None
    post(feed, "burst", {"factor": 40, "duration_ms": 300})
    time.sleep(0.8)
    burst = requests.get(f"{feed.urls['control_base']}/state", timeout=5).json()["last_burst"]
    assert (burst["factor"], burst["rate"], burst["active"]) == (40, 40, False)
    assert burst["delivered"] > 0
    assert 0 < burst["end_market_ms"] - burst["start_market_ms"] < 1_000   # the clock's pace
