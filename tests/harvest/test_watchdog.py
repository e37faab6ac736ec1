"""The sub-stream watchdog's clock: a stream's silence counts only while its connection flows."""

from __future__ import annotations

import pytest

from orchestrator.harvest.connection import ResilientConnection

STREAMS = ["btcusdt@aggTrade", "ethusdt@aggTrade"]


def connection(silence_s: float = 1.0, floor_s: float | None = None,
               factor: float = 8.0) -> ResilientConnection:
    """floor_s defaults to the bound: every stream judged by the bound, as before the pace."""
    settings = {"substream_silence_s": silence_s, "substream_silence_floor_s": floor_s or silence_s,
                "substream_silence_factor": factor}
    conn = ResilientConnection("market", "ws://127.0.0.1:1", STREAMS, settings,
                               lambda *_: None, lambda *_: None)
    conn.last_any = 0.0
    conn.last_seen = dict.fromkeys(STREAMS, 0.0)
    return conn


def frame(conn: ResilientConnection, stream: str, now: float) -> None:
    conn.note_arrival(now)
    conn.note_stream(stream, now)


def test_a_stream_silent_while_its_neighbour_flows_is_flagged():
    conn = connection()
    for tick in range(1, 31):                                 # btc every 50 ms for 1.5 s
        frame(conn, "btcusdt@aggTrade", tick * 0.05)
    assert [s for s, _ in conn.silent_streams(1.5)] == ["ethusdt@aggTrade"]


def test_streams_resuming_after_a_connection_wide_pause_are_not_flagged():
    """After a 5 s outage of the whole connection the first frame is btc's; eth's comes a
    moment later. The watchdog looking in between must not blame eth for the outage."""
    conn = connection()
    frame(conn, "btcusdt@aggTrade", 5.0)
    assert conn.silent_streams(5.01) == []
    frame(conn, "ethusdt@aggTrade", 5.02)
    assert conn.silent_streams(5.5) == []


def test_silence_before_a_pause_still_counts_after_it():
    conn = connection()
    for tick in range(1, 13):                                 # btc flows 0.6 s, eth silent
        frame(conn, "btcusdt@aggTrade", tick * 0.05)
    frame(conn, "btcusdt@aggTrade", 5.0)                      # a 4.4 s outage, then btc again
    for tick in range(1, 10):
        frame(conn, "btcusdt@aggTrade", 5.0 + tick * 0.05)
    flagged = dict(conn.silent_streams(5.45))
    assert list(flagged) == ["ethusdt@aggTrade"]              # 0.6 s + 0.45 s while flowing
    assert 1.0 < flagged["ethusdt@aggTrade"] < 1.2


def test_a_quiet_connection_flags_no_stream():
    conn = connection()
    assert conn.silent_streams(3.0) == []


def test_a_connection_wide_pause_blames_no_stream_whose_last_frame_came_first():
    """Both streams flow until a feed pause at 2.0 s; btc's last frame came 14 ms before
    eth's. Just past btc's 1 s of silence the connection has been quiet for nearly as long:
    that is the pause, not btc (a soak's D7 once failed on exactly this)."""
    conn = connection()
    for tick in range(1, 40):
        frame(conn, "btcusdt@aggTrade", tick * 0.05)
        frame(conn, "ethusdt@aggTrade", tick * 0.05 + 0.014)
    for now in (2.3, 2.9, 2.955, 2.96, 3.5):
        assert conn.silent_streams(now) == [], now


# ---- the stream's own pace (orchestrator/harvest/silence.py) -----------------------------------
THIN = [0.0, 2.1, 2.4, 7.9, 9.0, 13.5, 14.0, 19.2, 21.0, 25.7, 26.1, 31.0]   # a thin real symbol


def test_a_thin_stream_quiet_beyond_the_floor_is_not_flagged():
    """A thin real market (issue 13): eth trades every 0.3-5.5 s while btc's book flows; a
    10 s quiet spell is its pace, not a stall (the old fixed 10 s flagged it)."""
    conn = connection(silence_s=60.0, floor_s=10.0)
    for t in THIN:
        frame(conn, "ethusdt@aggTrade", t)
    busy = [31.0 + i * 0.05 for i in range(1, 241)]          # btc flows the next 12 s
    for t in busy:
        frame(conn, "btcusdt@aggTrade", t)
        assert conn.silent_streams(t) == [], t
    assert 10.0 < conn.silence_limit("ethusdt@aggTrade") < 60.0


def test_a_stalled_busy_stream_is_flagged_at_the_floor_not_the_bound():
    conn = connection(silence_s=60.0, floor_s=2.0)
    for i in range(1, 201):                                   # both flow every 50 ms for 10 s
        frame(conn, "btcusdt@aggTrade", i * 0.05)
        frame(conn, "ethusdt@aggTrade", i * 0.05 + 0.01)
    assert conn.silence_limit("ethusdt@aggTrade") == 2.0      # 8 x 50 ms < the floor
    t = 10.01
    while not conn.silent_streams(t):                         # eth stalls, btc flows on
        t += 0.05
        frame(conn, "btcusdt@aggTrade", t)
        assert t < 13.0, "the stall was not flagged"
    assert conn.silent_streams(t) == [("ethusdt@aggTrade", pytest.approx(2.0, abs=0.06))]


def test_the_bound_caps_a_slow_streams_limit():
    conn = connection(silence_s=5.0, floor_s=1.0)
    for t in THIN:
        frame(conn, "ethusdt@aggTrade", t)
    assert conn.silence_limit("ethusdt@aggTrade") == 5.0       # 8 x p90 would be ~40 s


def test_a_flagged_stalls_gap_is_not_taken_as_the_streams_pace():
    conn = connection(silence_s=60.0, floor_s=1.0)
    for i in range(1, 21):
        frame(conn, "ethusdt@aggTrade", i * 0.05)
    conn.pace["ethusdt@aggTrade"].restart()                   # what the watchdog does on a flag
    frame(conn, "ethusdt@aggTrade", 30.0)                     # the stall's end
    assert max(conn.pace["ethusdt@aggTrade"].gaps) < 0.1
