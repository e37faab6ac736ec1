"""The feed speaks Binance USDⓈ-M's wire format: paths, envelopes, methods, REST."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.replay_feed.conftest import FIXTURE, collect

AGG_FIELDS = {"e", "E", "a", "s", "p", "q", "f", "l", "T", "m"}
DEPTH_FIELDS = {"e", "E", "T", "s", "U", "u", "pu", "b", "a"}
# paced, not "max": unpaced with no client yet, the feed can serve the whole recording
# before the test's client connects (it raced, and lost, under load)
PACED = "20"
TICKER_FIELDS = {"e", "u", "s", "b", "B", "a", "A", "T", "E"}


@pytest.mark.parametrize("prefix", ["", "/market"])
def test_raw_stream_sends_bare_payloads(make_feed, prefix):
    feed = make_feed(recording=FIXTURE, speed=PACED, start_on="now")
    url = f"{feed.urls['ws_base']}{prefix}/ws/btcusdt@aggTrade"
    frames = [json.loads(f) for f in collect(url, 5)]
    assert all(set(f) >= AGG_FIELDS and f["e"] == "aggTrade" and f["s"] == "BTCUSDT"
               for f in frames)
    assert isinstance(frames[0]["m"], bool) and isinstance(frames[0]["p"], str)


@pytest.mark.parametrize("prefix", ["", "/public"])
def test_combined_stream_wraps_in_envelope(make_feed, prefix):
    feed = make_feed(recording=FIXTURE, speed=PACED, start_on="now")
    url = f"{feed.urls['ws_base']}{prefix}/stream?streams=btcusdt@depth@100ms/ethusdt@bookTicker"
    frames = [json.loads(f) for f in collect(url, 40)]
    assert {f["stream"] for f in frames} == {"btcusdt@depth@100ms", "ethusdt@bookTicker"}
    for frame in frames:
        fields = DEPTH_FIELDS if frame["stream"].endswith("100ms") else TICKER_FIELDS
        assert set(frame) == {"stream", "data"} and set(frame["data"]) >= fields


def test_routes_serve_only_their_streams_and_unknown_paths_are_404(make_feed):
    feed = make_feed(recording=FIXTURE, speed=PACED, start_on="now")
    url = f"{feed.urls['ws_base']}/public/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker"
    frames = [json.loads(f) for f in collect(url, 20)]
    assert {f["stream"] for f in frames} == {"btcusdt@bookTicker"}   # aggTrade is on /market
    with pytest.raises(InvalidStatus, match="404"):
        collect(f"{feed.urls['ws_base']}/nope/ws/btcusdt@aggTrade", 1)


def test_subscribe_unsubscribe_list_methods(make_feed):
    feed = make_feed(recording=FIXTURE, speed=1, start_on="now")

    async def run() -> list:
        async with connect(f"{feed.urls['ws_base']}/market/ws") as ws:
            replies = []
            for request in ({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1},
                            {"method": "LIST_SUBSCRIPTIONS", "id": 2},
                            {"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 3},
                            {"method": "LIST_SUBSCRIPTIONS", "id": 4},
                            {"method": "NOPE", "id": 5}):
                await ws.send(json.dumps(request))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if "id" in frame:
                        replies.append(frame)
                        break
            return replies
    replies = asyncio.run(run())
    assert replies[0] == {"result": None, "id": 1}
    assert replies[1] == {"result": ["btcusdt@aggTrade"], "id": 2}
    assert replies[2] == {"result": None, "id": 3}
    assert replies[3] == {"result": [], "id": 4}
    assert replies[4]["error"]["code"] == 2


def test_rest_endpoints(make_feed):
    feed = make_feed(recording=FIXTURE, speed=1, start_on="now", live=True)
    rest = feed.urls["rest_base"]
    assert requests.get(f"{rest}/fapi/v1/ping", timeout=5).json() == {}
    server_time = requests.get(f"{rest}/fapi/v1/time", timeout=5).json()["serverTime"]
    assert abs(server_time - time.time() * 1000) < 2_000     # LIVE 1x: re-stamped to now
    info = requests.get(f"{rest}/fapi/v1/exchangeInfo", timeout=5).json()
    filters = {s["symbol"]: {f["filterType"]: f for f in s["filters"]} for s in info["symbols"]}
    assert filters["BTCUSDT"]["PRICE_FILTER"]["tickSize"] == "0.1"
    assert filters["ETHUSDT"]["PRICE_FILTER"]["tickSize"] == "0.01"
    assert filters["BTCUSDT"]["LOT_SIZE"]["stepSize"] == "0.001"
    bad = requests.get(f"{rest}/fapi/v1/depth", timeout=5)
    assert bad.status_code == 400 and bad.json()["code"] == -1102
    assert requests.get(f"{rest}/fapi/v1/depth?symbol=XXXUSDT", timeout=5).json()["code"] == -1121
    bad_limit = requests.get(f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=abc", timeout=5)
    assert bad_limit.status_code == 400 and bad_limit.json()["code"] == -1100
    snap = requests.get(f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=20", timeout=5).json()
    assert set(snap) == {"lastUpdateId", "E", "T", "bids", "asks"}
    assert len(snap["bids"]) == 20 and float(snap["bids"][0][0]) < float(snap["asks"][0][0])


def test_live_event_times_are_restamped_to_now_at_1x(make_feed):
    feed = make_feed(generate_seed=4, speed=1, start_on="now", live=True)
    frames = collect(f"{feed.urls['ws_base']}/public/ws/btcusdt@depth@100ms", 5)
    for frame in map(json.loads, frames):
        assert abs(frame["E"] - time.time() * 1000) < 1_500


def test_replay_event_times_are_the_sources_plus_whole_days(make_feed):
    """REPLAY: two runs of one seed carry the same stamps up to whole days, whenever they run."""
    stamps = []
    for _ in range(2):
        feed = make_feed(generate_seed=4, speed=20, start_on="now")
        frames = collect(f"{feed.urls['ws_base']}/market/ws/btcusdt@aggTrade", 5)
        stamps.append([(f["a"], f["T"] % 86_400_000) for f in map(json.loads, frames)])
        first = json.loads(frames[0])["T"]
        assert -1_500 <= time.time() * 1000 - first < 86_400_000   # not after now
    assert stamps[0] == stamps[1]


def test_snapshot_is_consistent_with_the_diff_stream(make_feed):
    """Follow Binance's procedure by hand: buffer, snapshot, U <= L <= u, pu chain."""
    feed = make_feed(generate_seed=9, speed=20, start_on="now")
    url = f"{feed.urls['ws_base']}/public/ws/btcusdt@depth@100ms"

    async def run() -> tuple[dict, list]:
        async with connect(url) as ws:
            diffs = [json.loads(await ws.recv())]
            snap = await asyncio.to_thread(
                lambda: requests.get(f"{feed.urls['rest_base']}/fapi/v1/depth?symbol=BTCUSDT"
                                     "&limit=1000", timeout=5).json())
            while diffs[-1]["u"] < snap["lastUpdateId"] + 50:
                diffs.append(json.loads(await ws.recv()))
            return snap, diffs
    snap, diffs = asyncio.run(run())
    last_id = snap["lastUpdateId"]
    diffs = [d for d in diffs if d["u"] >= last_id]
    assert diffs[0]["U"] <= last_id <= diffs[0]["u"]
    book = {"b": dict(snap["bids"]), "a": dict(snap["asks"])}
    prev = None
    for diff in diffs:
        assert prev is None or diff["pu"] == prev
        prev = diff["u"]
        for side in ("b", "a"):
            for price, qty in diff[side]:
                book[side].pop(price, None) if float(qty) == 0 else book[side].update({price: qty})
    later = requests.get(f"{feed.urls['rest_base']}/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
                         timeout=5).json()
    if later["lastUpdateId"] == prev:            # nothing newer yet: books must be equal
        assert book["b"] == dict(later["bids"]) and book["a"] == dict(later["asks"])
    best_bid = max(map(float, book["b"]))
    assert best_bid < min(map(float, book["a"]))


def test_the_server_pings_and_a_client_pong_keeps_the_connection(make_feed):
    feed = make_feed(generate_seed=3, speed=1, start_on="now", ping_interval_s=0.2)

    async def run() -> float | None:
        async with connect(f"{feed.urls['ws_base']}/ws/btcusdt@depth@100ms",
                           ping_interval=None) as ws:
            for _ in range(8):                     # ~0.8 s of diffs: several server pings
                await asyncio.wait_for(ws.recv(), 5)
            client = next(iter(feed.engine.clients.values()))
            return client.ws.latency
    assert asyncio.run(run()) > 0                   # the server measured a ping -> pong
