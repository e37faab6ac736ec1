"""The replay feed's own account of a run (harness_observations feed.stats, read from the
feed's GET /control/stats before it stops; pytest_soak/replay_feed/accounting.py), and what D7 and
"no event lost" derive from it.

Every WebSocket client of the feed in a soak run is the pipeline's harvest (the harness opens
none). harvest's counters start at zero in each process, so its claims are compared with the
connections of its *last* process: those the feed saw opened after the previous harvest
process was last seen (pids the harness observed itself with psutil).

Re-connections as the feed counts them: each connection of that process that ended before the
harness's stop signal (whoever closed it), and each handshake the feed refused (HTTP 503 while
refusing, 404): harvest counts one reconnect for each. Both sides count the same events, so
the rule is equality.

A connection's in-flight frames, when it closes, are what the feed had queued and never sent
(`unsent`, exact) and what it sent in the last `in_flight_s` wall seconds before the close
(socket buffers, harvest's own queue when it is killed): frames nobody can promise.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.checks.windows import in_window, speed_of
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence, excuses
from pytest_soak.verdict import ItemResult, failed, passed, unknown

FEED = "feed.stats"
RECONNECTS = "reconnects seen by the feed"
FRAMES = "frames delivered vs events_in"


def feed_stats(run: RunEvidence) -> tuple[dict | None, str | None]:
    """(stats, None); (None, why) when the feed ran but its account is missing; (None, None)
    when the run had no replay feed (the real exchange: nothing the harness can count)."""
    feed = (run.observations or {}).get("feed")
    if not isinstance(feed, dict):
        return None, None
    stats = feed.get("stats")
    if not isinstance(stats, dict) or not isinstance(stats.get("connections"), list):
        return None, f"the feed's account was not recorded ({feed.get('stats_error') or 'null'})"
    return stats, None


def stop_ms(run: RunEvidence) -> float:
    sent = ((run.observations or {}).get("pipeline") or {}).get("stop_sent_ms")
    return float(sent) if sent else float("inf")


def last_process_since_ms(run: RunEvidence) -> int:
    """When harvest's last process began, at the latest: the previous one's exit (or last
    sighting). 0 when the harness saw one harvest process."""
    pids = sorted(((run.observations or {}).get("pids") or {}).get("harvest") or [],
                  key=lambda p: p.get("first_seen_ms") or 0)
    if len(pids) < 2:
        return 0
    prev = pids[-2]
    return int(prev.get("exit_ms") or prev.get("last_seen_ms") or 0)


def last_process_connections(run: RunEvidence, stats: dict) -> list[dict]:
    since = last_process_since_ms(run)
    return [c for c in stats["connections"] if (c.get("opened_ms") or 0) >= since]


def reconnect_times(stats: dict, since_ms: int, until_ms: float) -> list[int]:
    """Wall ms of each re-connection the feed saw in [since, until): closures and refusals."""
    ends = [c["closed_ms"] for c in stats["connections"]
            if (c.get("opened_ms") or 0) >= since_ms and c.get("closed_ms")
            and c["closed_ms"] < until_ms and c.get("closed_by") != "feed_stop"]
    refused = [r["at_ms"] for r in stats.get("refused") or []
               if since_ms <= (r.get("at_ms") or 0) < until_ms]
    return sorted(ends + refused)


def as_counter(times: list[int]) -> dict[str, Any]:
    """Feed-measured times in harvest's counter shape (for the stray-reconnect judgement)."""
    return {"count": len(times), "timestamps_ms": times}


def feed_reconnect_counter(run: RunEvidence) -> dict[str, Any] | None:
    """Every re-connection of every harvest process the feed saw before the stop, in harvest's
    counter shape, so the stray-reconnect judgement runs on the harness's measurement; None
    without the feed's account."""
    stats, _why = feed_stats(run)
    if stats is None:
        return None
    return as_counter(reconnect_times(stats, 0, stop_ms(run)))


def reopen_times(stats: dict) -> list[int]:
    """Wall ms at which harvest re-opened a route: each connection opened after an earlier one
    on the same route had closed (what a fault expecting reconnect_count must cause)."""
    conns = sorted(stats["connections"], key=lambda c: c.get("opened_ms") or 0)
    out = []
    for i, conn in enumerate(conns):
        opened = conn.get("opened_ms") or 0
        if any(c.get("route") == conn.get("route") and c.get("closed_ms")
               and c["closed_ms"] <= opened for c in conns[:i]):
            out.append(opened)
    return out


def feed_reopen_counter(run: RunEvidence) -> dict[str, Any] | None:
    """The feed's re-openings in harvest's counter shape, for "expected counter moved" of
    reconnect_count: harvest's own counter restarts at zero when harvest is killed, so a drop
    before a kill of harvest would read as never reconnected. None without the account."""
    stats, _why = feed_stats(run)
    return as_counter(reopen_times(stats)) if stats is not None else None


def closure_excused(run: RunEvidence, conn: dict, t: Thresholds) -> str | None:
    """Why a connection's close may cost its in-flight frames: the harness's stop, or the
    window of a fault that expects or tolerates reconnects (it cuts connections). None: no
    excuse (a connection that died on its own loses nothing without failing)."""
    closed = conn.get("closed_ms")
    if not closed:
        return None
    if conn.get("closed_by") == "feed_stop" or closed >= stop_ms(run):
        return "after the stop"
    speed = speed_of(run)
    for fault in run.faults:
        if excuses(fault, "counters", "reconnect_count") and in_window(fault, closed, speed, t):
            return f"closed during {fault.get('id')}"
    return None


def in_flight_frames(conn: dict, t: Thresholds) -> int:
    """Frames that may be lost at the connection's close: unsent, plus the frames sent in the
    wall-clock buckets reaching into the last `in_flight_s` before it."""
    closed = conn.get("closed_ms")
    if not closed:
        return 0
    bucket = int(conn.get("bucket_ms") or 1000)
    since = closed - t.in_flight_s * 1000 - bucket
    return sum(n for start, n in conn.get("frames_by_s") or [] if start >= since)


def reconnects(run: RunEvidence, stats: dict, hm: dict) -> ItemResult:
    """harvest's reconnect_count == the feed's re-connections of harvest's last process."""
    evidence = [MANIFEST, OBSERVATIONS]
    claim = (hm.get("reconnect_count") or {}).get("count") if isinstance(
        hm.get("reconnect_count"), dict) else None
    seen = reconnect_times(stats, last_process_since_ms(run), stop_ms(run))
    if not isinstance(claim, int):
        return failed(RECONNECTS, "harvester_metrics has no reconnect_count to compare with "
                      f"the feed's {len(seen)}", None, len(seen), evidence)
    text = (f"harvest reports {claim} reconnect(s); the feed saw {len(seen)} re-connection(s) "
            "of harvest's last process (connections ended before the stop + refused "
            "handshakes)")
    if claim != len(seen):
        return failed(RECONNECTS, text, claim, len(seen), evidence)
    return passed(RECONNECTS, text, claim, len(seen), evidence)


def frames(run: RunEvidence, stats: dict, hm: dict, t: Thresholds) -> ItemResult:
    """harvest's events_in lies between what the feed sent its last process minus the
    in-flight frames at each close, and what it sent."""
    evidence = [MANIFEST, OBSERVATIONS]
    conns = last_process_connections(run, stats)
    bucket = stats.get("bucket_ms")
    sent = sum(sum((c.get("frames") or {}).values()) - (c.get("unsent_frames") or 0)
               for c in conns)
    in_flight = sum(in_flight_frames({**c, "bucket_ms": bucket}, t) for c in conns)
    counter = hm.get("events_in")
    claim = counter.get("count") if isinstance(counter, dict) else None
    by_stream: dict[str, int] = {}
    for c in conns:
        for stream, n in (c.get("frames") or {}).items():
            by_stream[stream] = by_stream.get(stream, 0) + n
    tally = ", ".join(f"{k} {v}" for k, v in sorted(by_stream.items()))
    text = (f"harvest's events_in {claim}; the feed sent its last process {sent} frame(s) "
            f"({len(conns)} connection(s); delivered by stream: {tally or 'none'}), "
            f"{in_flight} of them in flight at a close (in_flight_s {t.in_flight_s:g})")
    if not isinstance(claim, int):
        return failed(FRAMES, f"harvester_metrics has no events_in; {text}", None, sent,
                      evidence)
    if claim > sent:
        return failed(FRAMES, f"{text}: harvest counts frames the feed never sent", claim,
                      sent, evidence)
    if claim < sent - in_flight:
        return failed(FRAMES, f"{text}: {sent - in_flight - claim} frame(s) sent outside any "
                      "close's in-flight tail were never counted", claim, sent - in_flight,
                      evidence)
    return passed(FRAMES, text, claim, sent - in_flight, evidence)


def feed_parts(run: RunEvidence, hm: dict, t: Thresholds) -> list[ItemResult]:
    """D7's comparisons with the feed's own account (none without a replay feed)."""
    stats, why = feed_stats(run)
    if why:
        return [unknown(name, why, None, None, [OBSERVATIONS]) for name in (RECONNECTS, FRAMES)]
    if stats is None:
        return []
    return [reconnects(run, stats, hm), frames(run, stats, hm, t)]
