"""The sub-stream watchdog's clock: a stream's silence counts only while its connection flows."""

from __future__ import annotations

from orchestrator.harvest.connection import ResilientConnection

STREAMS = ["btcusdt@aggTrade", "ethusdt@aggTrade"]


def connection(silence_s: float = 1.0) -> ResilientConnection:
    conn = ResilientConnection("market", "ws://127.0.0.1:1", STREAMS,
                               {"substream_silence_s": silence_s}, lambda *_: None,
                               lambda *_: None)
    conn.last_any = 0.0
    conn.last_seen = dict.fromkeys(STREAMS, 0.0)
    return conn


def frame(conn: ResilientConnection, stream: str, now: float) -> None:
    conn.note_arrival(now)
    conn.last_seen[stream] = now


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
