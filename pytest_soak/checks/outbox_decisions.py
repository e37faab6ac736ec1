"""D12 from the sinks' side: every signal the declared broker config makes eligible has exactly
one terminal decision (a fill, or a reject with a reason) per client_order_id in ready/.

The harness reads the signals from the sinks itself and applies the broker's own rule
(pytest_soak_evidence.orders: `eligible` under the run's declared `broker.only_strong`, read from
source_manifest.json's config_snapshot, and `client_order_id`). A signal without a decision
is *pending* -- named in the reason, not a failure -- only when the broker cannot have seen it
before it stopped: it is later than its symbol's last decided signal (a symbol's signals come
in event-time order) and within `outbox_pending_wall_s` wall seconds of processing (times the
run's speed) before the stop's event time. Any other missing decision, a second decision, a
reject without a reason, or a decision for a signal that is not eligible fails.
"""

from __future__ import annotations

from collections import defaultdict

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import OBSERVATIONS, SOURCE_MANIFEST, RunEvidence
from pytest_soak.verdict import ItemResult, failed, passed, unknown
from pytest_soak_evidence.orders import TERMINAL_EVENTS, client_order_id, eligible

NAME = "terminal decisions"
READY = "outbox/ready/"
SOURCE = SOURCE_MANIFEST
SHOWN = 3    # ids quoted per finding in a reason


def declared_only_strong(run: RunEvidence) -> bool | None:
    snapshot = (run.source_manifest or {}).get("config_snapshot") or {}
    value = (snapshot.get("broker") or {}).get("only_strong")
    return value if isinstance(value, bool) else None


def eligible_signals(rows: list[dict], only_strong: bool) -> dict[str, dict]:
    """client_order_id -> signal, for every sink row the broker must decide on."""
    out: dict[str, dict] = {}
    for row in rows:
        try:
            if eligible(row, only_strong):
                out[client_order_id(row)] = row
        except (KeyError, TypeError):
            continue          # a row without its identity: the sink checks' business
    return out


def decisions_by_order(events: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        if event.get("event") in TERMINAL_EVENTS:
            found[str(event.get("client_order_id"))].append(event)
    return found


def split_missing(missing: list[dict], decided: list[dict], stop_event_ms: int | None,
                  window_ms: float) -> tuple[list[dict], list[dict]]:
    """(pending after the broker stopped, holes) among eligible signals without a decision."""
    last: dict[str, int] = {}
    for row in decided:
        last[row["symbol"]] = max(int(row["ts_ms"]), last.get(row["symbol"], int(row["ts_ms"])))
    if stop_event_ms is None:           # no stop time measured: nothing can be excused
        return [], missing
    floor = stop_event_ms - window_ms
    pending = [r for r in missing if int(r["ts_ms"]) >= floor
               and int(r["ts_ms"]) > last.get(r["symbol"], -1)]
    held = {id(r) for r in pending}
    return pending, [r for r in missing if id(r) not in held]


def _ids(rows: list[dict]) -> str:
    return ", ".join(str(r.get("row_id")) for r in rows[:SHOWN]) + (" ..." if len(rows) > SHOWN
                                                                   else "")


def check_decisions(run: RunEvidence, scan, t: Thresholds) -> ItemResult:
    only_strong = declared_only_strong(run)
    if only_strong is None:
        return unknown(NAME, "source_manifest config_snapshot declares no broker.only_strong: "
                       "which signals are eligible is unknown", evidence=[SOURCE])
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), None)
    if rows is None:
        return unknown(NAME, "cannot read a sink for the eligible signals", evidence=["sinks/"])
    wanted = eligible_signals(rows, only_strong)
    decisions = decisions_by_order(scan.events)
    missing = [row for coid, row in wanted.items() if coid not in decisions]
    decided = [row for coid, row in wanted.items() if coid in decisions]
    obs = run.observations or {}
    stop = (obs.get("market_clock") or {}).get("end_event_ms")
    window_ms = t.outbox_pending_wall_s * float(obs.get("speed") or 1.0) * 1000
    pending, holes = split_missing(missing, decided, stop, window_ms)
    twice = [wanted.get(c, {"row_id": c}) for c, evs in decisions.items() if len(evs) > 1]
    stray = [{"row_id": evs[0].get("signal_row_id")} for c, evs in decisions.items()
             if c not in wanted]
    mute = [{"row_id": e.get("signal_row_id")} for evs in decisions.values() for e in evs
            if e.get("event") == "reject" and not str(e.get("reason") or "").strip()]
    problems = [f"{len(found)} {what} ({_ids(found)})" for what, found in (
        ("eligible signal(s) without a terminal decision", holes),
        ("order(s) with more than one terminal decision", twice),
        ("reject(s) without a reason", mute),
        ("decision(s) for no eligible signal (ineligible under the declared config, or unknown)",
         stray)) if found]
    note = (f"; {len(pending)} pending after the broker stopped ({_ids(pending)})"
            if pending else "")
    value = len(holes) + len(twice) + len(mute) + len(stray)
    evidence = [READY, "sinks/", SOURCE, OBSERVATIONS]
    if problems:
        return failed(NAME, "; ".join(problems) + note, value, 0, evidence)
    return passed(NAME, f"each of {len(decided)} eligible signal(s) (only_strong="
                  f"{only_strong}) has exactly one terminal decision{note}", value, 0, evidence)
