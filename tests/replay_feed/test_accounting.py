"""The feed's own account (GET /control/stats): connections, who closed them, frames per
stream, and the aggTrade ids delivered per symbol as ranges -- what the harness measures
harvest against (D7, "no event lost")."""

from __future__ import annotations

import json
import time

import requests
from websockets.exceptions import InvalidStatus

from tests.replay_feed.conftest import collect


def stats(feed) -> dict:
    return requests.get(f"{feed.urls['control_base']}/stats", timeout=5).json()


def wait_closed(feed, count: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        conns = stats(feed)["connections"]
        if sum(1 for c in conns if c["closed_ms"]) >= count:
            return conns
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} connections closed: {conns}")


def test_a_connection_is_accounted_frame_by_frame_and_id_by_id(make_feed):
    feed = make_feed(generate_seed=3, speed="max", start_on="now")
    frames = collect(f"{feed.urls['ws_base']}/market/ws/btcusdt@aggTrade", 50)
    ids = [json.loads(f)["a"] for f in frames]
    conn = wait_closed(feed, 1)[0]
    assert conn["route"] == "market" and conn["streams"] == ["btcusdt@aggTrade"]
    assert conn["closed_by"] == "client" and conn["opened_ms"] <= conn["closed_ms"]
    ranges = conn["aggtrade_ranges"]["BTCUSDT"]
    assert ranges[0][0] == ids[0]
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))
    delivered = sum(r[1] - r[0] + 1 for r in ranges)
    assert delivered == conn["frames"]["btcusdt@aggTrade"] >= 50
    unsent = sum(r[1] - r[0] + 1 for r in conn["unsent_aggtrade_ranges"].get("BTCUSDT", []))
    assert unsent <= conn["unsent_frames"] <= delivered - 50 + 1
    assert sum(n for _t, n in conn["frames_by_s"]) == delivered


def test_a_drop_is_the_feeds_and_a_refused_handshake_is_counted(make_feed):
    feed = make_feed(generate_seed=3, speed=1, start_on="now")
    import asyncio

    from websockets.asyncio.client import connect

    async def held() -> None:
        async with connect(f"{feed.urls['ws_base']}/market/ws/btcusdt@aggTrade") as ws:
            await asyncio.sleep(0.3)
            requests.post(f"{feed.urls['control_base']}/drop", json={"refuse_ms": 2000},
                          timeout=5)
            try:
                await asyncio.wait_for(ws.recv(), 2)
            except Exception:            # noqa: BLE001 - the reset is the point
                pass
        try:
            async with connect(f"{feed.urls['ws_base']}/market/ws/btcusdt@aggTrade"):
                pass
        except InvalidStatus:
            pass

    asyncio.run(held())
    doc = stats(feed)
    assert [c["closed_by"] for c in doc["connections"]] == ["drop"]
    assert doc["totals"]["closed_by"]["drop"] == 1
    assert [r["status"] for r in doc["refused"]] == [503]
