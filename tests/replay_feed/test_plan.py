"""Faults planned in event time (POST /control/plan): the feed applies each at exactly the
first event at/after its session time, so two runs of one seed and one plan deliver the same
frames and the same holes, by id; in LIVE mode no fault stamps an event ahead of now."""

from __future__ import annotations

import asyncio
import json
import time

import requests
from websockets.asyncio.client import connect

STREAMS = "btcusdt@aggTrade/btcusdt@depth@100ms"
SPEED = 100                      # 150 market s in 1.5 wall s; the writer keeps up easily
PLAN = [{"id": "gap", "control": "gap", "params": {"symbol": "BTCUSDT", "skip": 5},
         "start_ms": 30_000, "end_ms": None},
        {"id": "bad", "control": "malformed", "params": {"kind": "non_json", "count": 2},
         "start_ms": 45_000, "end_ms": None},
        {"id": "pause", "control": "pause", "params": {}, "start_ms": 60_000, "end_ms": 90_000},
        {"id": "drop", "control": "drop", "params": {}, "start_ms": 120_000, "end_ms": None}]


def control(feed, path: str, body: dict | None = None, get: bool = False) -> dict:
    url = f"{feed.urls['control_base']}/{path}"
    resp = requests.get(url, timeout=5) if get else requests.post(url, json=body or {}, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()


def planned_run(make_feed) -> tuple[list, dict, dict]:
    """One run of seed 5 with PLAN, its connection ended by the planned drop: the frames one
    client got (times relative to the session), the feed's plan and its accounting."""
    feed = make_feed(generate_seed=5, speed=SPEED, start_on="control")
    control(feed, "plan", {"faults": PLAN})

    async def client() -> list:
        frames: list = []
        async with connect(f"{feed.urls['ws_base']}/stream?streams={STREAMS}") as ws:
            await asyncio.sleep(0.2)                     # subscribed before the session starts
            control(feed, "start")
            session0 = control(feed, "state", get=True)["session_start_ms"]
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 5)
                except Exception:             # noqa: BLE001 - the planned drop closes it
                    return frames
                try:
                    data = json.loads(raw)["data"]
                except ValueError:
                    frames.append(("malformed", raw, None, None))
                    continue
                key = "a" if data["e"] == "aggTrade" else "u"
                frames.append((data["e"], data.get(key), data.get("pu"), data["E"] - session0))
    frames = asyncio.run(client())
    plan_state = {e["id"]: e for e in control(feed, "state", get=True)["plan"]}
    return frames, plan_state, control(feed, "stats", get=True)


def delivered_ids(stats: dict) -> list[list[int]]:
    """The connection's delivered aggTrade ids as contiguous ranges (the feed also splits a
    range every wall second: merged here)."""
    (conn,) = stats["connections"]
    merged: list[list[int]] = []
    for first, last, *_ in conn["aggtrade_ranges"].get("BTCUSDT", []):
        if merged and first == merged[-1][1] + 1:
            merged[-1][1] = last
        else:
            merged.append([first, last])
    return merged


def test_two_runs_of_one_seed_and_plan_see_the_same_market_and_the_same_holes(make_feed):
    first, plan1, stats1 = planned_run(make_feed)
    second, plan2, stats2 = planned_run(make_feed)
    assert delivered_ids(stats1) == delivered_ids(stats2)            # the feed's account
    assert len(delivered_ids(stats1)) == 2                           # one hole: the pause's

    # frame by frame, by id, to the end: the drop writes what was queued before closing
    assert first == second
    assert max(f[3] for f in first if f[3] is not None) < 120_000
    (conn,) = stats1["connections"]
    assert conn["closed_by"] == "drop" and conn["unsent_frames"] == 0
    def where(record: dict) -> dict:             # event_ms is the wall-anchored stamp
        return {k: v for k, v in record["event"].items() if k != "event_ms"}
    for fid in ("gap", "bad", "pause", "drop"):
        assert where(plan1[fid]["start"]) == where(plan2[fid]["start"]), fid
        assert plan1[fid]["in_window"] == plan2[fid]["in_window"], fid
    assert where(plan1["pause"]["end"]) == where(plan2["pause"]["end"])


def test_each_fault_acts_at_exactly_its_event(make_feed):
    frames, plan, stats = planned_run(make_feed)
    for fid in ("gap", "bad", "pause", "drop"):
        assert plan[fid]["start_ms"] <= plan[fid]["start"]["event"]["session_ms"], fid
    # the pause withholds exactly the events of [60 s, 90 s): none is delivered
    pause = plan["pause"]
    start, end = pause["start"]["event"], pause["end"]["event"]
    assert 60_000 <= start["session_ms"] < 61_000 and 90_000 <= end["session_ms"] < 91_000
    assert pause["in_window"]["delivered"] == 0 and pause["in_window"]["skipped"] > 100
    (before, after) = delivered_ids(stats)
    trades = [f for f in frames if f[0] == "aggTrade"]
    last_before = next(f for f in reversed(trades) if f[1] == before[1])
    first_after = next(f for f in trades if f[1] == after[0])
    assert last_before[3] < 60_000 <= 90_000 - 1_000 < first_after[3]
    # the gap: the first depth diff at/after 30 s jumps 5 ids; no diff before it does
    depth = [f for f in frames if f[0] == "depthUpdate"]
    jumps = [(a, b) for a, b in zip(depth, depth[1:], strict=False) if b[2] != a[1]]
    (prev, gapped) = jumps[0]
    assert 29_000 <= gapped[3] < 31_000 and gapped[2] - prev[1] == 5
    # the malformed frames come right before the event the fault was applied at
    bad = [i for i, f in enumerate(frames) if f[0] == "malformed"]
    assert len(bad) == 2 and bad[1] == bad[0] + 1
    event = plan["bad"]["start"]["event"]
    if event["stream"] in STREAMS.split("/"):      # its source id (served depth ids: + the gap)
        shifted = 5 if "depth" in event["stream"] else 0
        assert frames[bad[1] + 1][1] == event["id"] + shifted
    # the drop closes the connection before its event is sent
    assert [c["closed_by"] for c in stats["connections"]] == ["drop"]
    assert plan["drop"]["start"]["dropped"] == [stats["connections"][0]["id"]]
    assert 120_000 <= plan["drop"]["start"]["event"]["session_ms"] < 121_000
    assert all(f[3] is None or f[3] < 121_000 for f in frames)


def test_a_plan_is_checked_and_can_be_cancelled(make_feed):
    feed = make_feed(generate_seed=5, speed=1, start_on="now")
    url = f"{feed.urls['control_base']}/plan"
    assert requests.post(url, json={"faults": [{"control": "explode", "start_ms": 1}]},
                         timeout=5).status_code == 400
    assert requests.post(url, json={"faults": [{"control": "pause", "start_ms": 5,
                                                "end_ms": 1}]}, timeout=5).status_code == 400
    control(feed, "plan", {"faults": [{"id": "later", "control": "pause", "start_ms": 600_000,
                                       "end_ms": 700_000}]})
    assert control(feed, "plan/end", {})["cancelled"] == ["later"]
    assert control(feed, "state", get=True)["plan"][0]["phase"] == "cancelled"


def test_a_live_burst_raises_the_event_rate_never_the_clock(make_feed):
    """LIVE at 1x: a 20x burst for 1 s of event time sends ~20x the events in that second,
    and no event (nor the feed's own clock) is ever stamped ahead of now."""
    feed = make_feed(generate_seed=5, speed=1, start_on="now", live=True)

    async def client() -> list[tuple[int, int]]:
        seen = []
        async with connect(f"{feed.urls['ws_base']}/stream?streams={STREAMS}") as ws:
            await asyncio.sleep(1.0)
            session0 = control(feed, "state", get=True)["session_start_ms"]
            now = int(time.time() * 1000) - session0
            control(feed, "plan", {"faults": [{"id": "b", "control": "burst",
                                               "params": {"factor": 20},
                                               "start_ms": now + 500, "end_ms": now + 1500}]})
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                data = json.loads(await asyncio.wait_for(ws.recv(), 5))["data"]
                seen.append((data["E"], int(time.time() * 1000)))
        return seen
    seen = asyncio.run(client())
    assert all(stamp <= received + 1 for stamp, received in seen)      # never ahead of now
    state = control(feed, "state", get=True)
    assert state["market_ms"] <= int(time.time() * 1000) + 1
    entry = state["plan"][0]
    assert entry["phase"] == "ended"
    span = entry["end"]["event"]["session_ms"] - entry["start"]["event"]["session_ms"]
    assert 900 <= span <= 1_300                              # the window, in event time
    before = sum(1 for stamp, _ in seen if stamp < seen[0][0] + 1000)  # a normal second
    assert entry["in_window"]["delivered"] > 8 * max(before, 1)
