"""D7 harvester SLO: queue_dropped == 0, substream_timeout_detected == false,
reconnect_count <= 3 -- each counted outside the windows where the harness induced it -- and
every counter a fault expects to move moved inside that fault's window, and the queue keeps
its slack: harvest records its queue-depth peaks per wall-clock bucket (with the time of each
peak), and outside the windows of faults that expect or tolerate queue_dropped no peak may
exceed `queue_depth_max_pct` of queue_max (a drain running near its limit drops on the next
hiccup: that is a false fail waiting to happen, so it is a failure of its own).

harvest records the times of each counter's increments ({count, timestamps_ms, spans}),
so the harness can tell its own faults from the rest. Which windows excuse which counter comes
only from the recorded faults: an increment is induced when it falls in the window of a fault
that expects or tolerates that counter (see pytest_soak/fault_kinds/), plus that fault's
`for_s` (else the settle margin), by wall clock or by event time. Increments with no recorded
time make the item unknown, never a pass.

The harness runs the feed, so it does not take harvest's word for the traffic
(pytest_soak/checks/feed_account.py): stray reconnects are judged on the feed's own
re-connection times; harvest's reconnect_count must equal the feed's count of re-connections
of its last process; its events_in must lie between what the feed sent that process minus the
in-flight frames at each close, and what it sent.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import interrupted, need, need_manifest
from pytest_soak.checks.feed_account import (
    FRAMES,
    RECONNECTS,
    feed_parts,
    feed_reconnect_counter,
    feed_reopen_counter,
)
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.checks.windows import in_window, speed_of
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import (
    MANIFEST,
    OBSERVATIONS,
    RunEvidence,
    excuses,
    expected,
)
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown


def increments(counter: dict) -> list[tuple[int, int, int]]:
    """(start_ms, end_ms, count) of a counter's increments: its spans, else its timestamps."""
    spans = counter.get("spans")
    if isinstance(spans, list) and spans:
        return [(int(a), int(b), int(n)) for a, b, n in spans]
    return [(int(x), int(x), 1) for x in counter.get("timestamps_ms") or []]


def _excusing(run: RunEvidence, counter: str) -> list[dict]:
    """The faults whose windows excuse increments of `counter`."""
    return [f for f in run.faults if excuses(f, "counters", counter)]


def _induced(run: RunEvidence, t_ms: int, counter: str, t: Thresholds) -> bool:
    speed = speed_of(run)
    return any(in_window(f, t_ms, speed, t) for f in _excusing(run, counter))


def _when(run: RunEvidence, spans: list[tuple[int, int, int]], most: int = 6) -> str:
    """Where increments fell, for the reader of a failure: wall seconds after the run's start
    and the latest fault begun before each."""
    start = ((run.observations or {}).get("market_clock") or {}).get("start_wall_ms")
    begun = sorted((f["started_ms"], f.get("id")) for f in run.faults if f.get("started_ms"))
    parts = []
    for a, _b, n in spans[:most]:
        at = f"+{(a - start) / 1000:.1f} s" if start else f"{a} ms"
        after = [(s, i) for s, i in begun if s <= a]
        since = f" ({after[-1][1]} began {(a - after[-1][0]) / 1000:.1f} s before)" if after else ""
        parts.append(at + (f" x{n}" if n > 1 else "") + since)
    more = f", {len(spans) - most} more" if len(spans) > most else ""
    return ", ".join(parts) + more


def _by_stream(tally: Any) -> str:
    if not isinstance(tally, dict) or not tally:
        return ""
    return "; by stream: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))


EXPECTED_MOVED = "expected counter moved"
QUEUE_DEPTH = "queue depth peak"


def _expected_moved(run: RunEvidence, hm: dict, t: Thresholds) -> list[ItemResult]:
    """Each counter a fault expects must move inside that fault's window (+ for_s): an induced
    stall flagged, dropped connections reopened, a burst's excess shed. The value is how
    many increments fell in the window. Reconnects are the feed's re-openings when it ran."""
    measured = {"reconnect_count": feed_reopen_counter(run)}
    out = []
    speed = speed_of(run)
    evidence = [MANIFEST, OBSERVATIONS]
    for fault in run.faults:
        fid = fault.get("id")
        for name in expected(fault, "counters"):
            subject = f"{name} by {fid}"
            if not fault.get("effect_confirmed"):
                out.append(unknown(EXPECTED_MOVED, f"fault {fid} never took effect", None, 1,
                                   evidence, subject=subject))
                continue
            counter = measured.get(name) or (hm.get(name) if isinstance(hm.get(name), dict)
                                             else {})
            spans = increments(counter)
            moved = sum(n for a, _b, n in spans if in_window(fault, a, speed, t))
            untimed = counter.get("count", 0) - sum(n for _a, _b, n in spans)
            if moved:
                out.append(passed(EXPECTED_MOVED, f"{name} moved {moved} time(s) during {fid}",
                                  moved, 1, evidence, subject=subject))
            elif untimed > 0:
                out.append(unknown(EXPECTED_MOVED, f"{name} has {untimed} increment(s) with no "
                                   f"recorded time: cannot tell whether {fid} moved it",
                                   None, 1, evidence, subject=subject))
            else:
                out.append(failed(EXPECTED_MOVED, f"{name} never moved during fault {fid}, "
                                  "which expects it (no increment in its window)", 0, 1,
                                  evidence, subject=subject))
    return out


def _queue_depth(run: RunEvidence, hm: dict, t: Thresholds) -> ItemResult:
    """The normal flow keeps slack: every recorded queue-depth peak stays within
    `queue_depth_max_pct` of queue_max, except peaks that fell in the window of a fault that
    expects or tolerates queue_dropped (a burst presses on harvest's queue on purpose)."""
    evidence = [MANIFEST, OBSERVATIONS]
    record, queue_max = hm.get("queue_depth"), hm.get("queue_max")
    if not isinstance(record, dict) or not isinstance(queue_max, int) or queue_max <= 0:
        return unknown(QUEUE_DEPTH, "harvester_metrics has no queue_depth record (or no "
                       "queue_max): the queue's slack cannot be judged", None, None, evidence)
    limit = queue_max * t.queue_depth_max_pct / 100
    judged = [(peak, at) for _start, peak, at in record.get("buckets") or []
              if not _induced(run, int(at), "queue_dropped", t)]
    worst = max(judged, default=(0, None))
    text = (f"queue depth peaked at {worst[0]} outside windows tolerating queue pressure "
            f"(limit {t.queue_depth_max_pct:g} % of queue_max {queue_max} = {limit:g})")
    if worst[0] > limit:
        return failed(QUEUE_DEPTH, f"{text}, at {_when(run, [(worst[1], worst[1], 1)])}",
                      worst[0], limit, evidence)
    return passed(QUEUE_DEPTH, text, worst[0], limit, evidence)


def _counter(run: RunEvidence, name: str, counter: Any, allowed: int,
             t: Thresholds, detail: str = "") -> ItemResult:
    evidence = [MANIFEST, OBSERVATIONS]
    if not isinstance(counter, dict) or not isinstance(counter.get("count"), int):
        return failed(name, f"harvester_metrics has no {name} counter", evidence=evidence)
    count = counter["count"]
    if count <= allowed:
        return passed(name, f"{name} {count} <= {allowed} in total", count, allowed, evidence)
    spans = increments(counter)
    strays = [(a, b, n) for a, b, n in spans if not (_induced(run, a, name, t)
                                                    and _induced(run, b, name, t))]
    when = f" (at {_when(run, strays)}){detail}" if strays else ""
    if not _excusing(run, name):
        return failed(name, f"{name} is {count} and the harness induced none{when}", count,
                      allowed, evidence)
    stray = sum(n for _a, _b, n in strays)
    untimed = max(0, count - sum(n for _a, _b, n in spans))
    text = (f"{name}: {stray} outside the windows of faults expecting or tolerating it, "
            f"{count - stray - untimed} induced{when}")
    if stray > allowed:
        return failed(name, f"{text}, allowed {allowed}", stray, allowed, evidence)
    if stray + untimed > allowed:
        return unknown(name, f"{text}, {untimed} with no recorded time (cannot tell induced "
                       "from spontaneous)", stray, allowed, evidence)
    return passed(name, text, stray, allowed, evidence)


def check_D7(run: RunEvidence, t: Thresholds) -> ItemResult:
    _obs, why = need(run, OBSERVATIONS, "D7")
    if why:
        return why
    stop = interrupted(run, "D7")
    if stop:
        return stop
    manifest, why = need_manifest(run, "D7", ("harvester_metrics",))
    if why:
        return why
    hm = manifest.get("harvester_metrics")
    if not isinstance(hm, dict) or not hm:
        return failed("D7", "run_manifest.harvester_metrics is absent or empty",
                      evidence=[MANIFEST])
    parts = [
        _counter(run, "queue_dropped", hm.get("queue_dropped"), 0, t),
        _counter(run, "substream_timeout_detected", hm.get("substream_timeout_detected"), 0, t,
                 _by_stream(hm.get("substream_timeouts_by_stream"))),
        # strays judged on the feed's own re-connection times when the harness ran the feed
        _counter(run, "reconnect_count", feed_reconnect_counter(run) or hm.get("reconnect_count"),
                 t.max_reconnects, t),
        _queue_depth(run, hm, t),
        *_expected_moved(run, hm, t),
        *feed_parts(run, hm, t),
    ]
    return combine("D7", parts)


ITEM = DodItem(
    id="D7", name="harvester SLO", title="the harvester meets its SLO outside induced faults",
    description="Queue drops, sub-stream timeouts and reconnects are counted outside the "
                "windows of the faults that expect or tolerate them; every counter a fault "
                "expects must move inside its window; outside the windows tolerating queue "
                "pressure the queue's recorded depth stays within 25 % of its bound; "
                "harvest's reconnect_count and events_in agree with the replay feed's own "
                "account of its connections and deliveries.",
    subchecks=(SubCheck("queue_dropped", "max"), SubCheck("substream_timeout_detected", "max"),
               SubCheck("reconnect_count", "max"), SubCheck(QUEUE_DEPTH, "max"),
               SubCheck(EXPECTED_MOVED, "min", per="counter by fault",
                        when="a fault expects a harvester counter to move"),
               SubCheck(RECONNECTS, "eq", when="the harness ran the replay feed"),
               SubCheck(FRAMES, "min", when="the harness ran the replay feed")),
    check=check_D7, evidence=(MANIFEST, OBSERVATIONS), plots=("events.png",))
