"""D9 "no event lost", by element, on what the harness measured itself.

The replay feed records the aggTrade ids it delivered, per connection and symbol, as ranges
with their wall times (feed.stats, pytest_soak/checks/feed_account.py); the harness reads the
ids harvest accepted from the durable handoff (handoff/market/*.jsonl) itself. Then

    lost = delivered - accepted - what the harness's own faults removed

element by element, where the faults remove:
- nothing for a pause or a stall: the feed records only what it delivered, so the ids it held
  back are not in `delivered` at all;
- a closed connection's in-flight frames: the ids the feed had queued and never sent, and the
  ids it sent in the last `in_flight_s` before the close -- only when a fault that expects or
  tolerates reconnects closed it (a drop; a kill of harvest), or the harness's stop did;
- a burst's shedding: ids delivered inside the window (+ for_s) of a fault that expects or
  tolerates queue_dropped, at most as many as harvest's queue_dropped increments inside that
  window (harvest must count every event it drops; it counts all streams, so this bounds the
  aggTrades).
Anything else missing is lost, whatever harvest's counters say. An id in the handoff the
feed never delivered is a failure too. harvest's own claim (its aggtrade_ids against the
handoff, signal consuming each once: restart.py) is kept as a second, weaker part; after a
restart of harvest its ids cover only its last process, so then only signal's side of it is
judged.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_soak.checks.feed_account import closure_excused, feed_stats, last_process_since_ms
from pytest_soak.checks.harvester import increments
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.checks.windows import in_window, speed_of
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence, excuses
from pytest_soak.verdict import ItemResult, failed, passed, unknown

NAME = "no event lost"
EVIDENCE = [OBSERVATIONS, MANIFEST, "handoff/market"]


def _id_ms(rng: list[int], agg_id: int) -> float:
    """The wall time of one id of a range [first, last, first_ms, last_ms] (interpolated)."""
    first, last, first_ms, last_ms = rng[:4]
    return first_ms if last == first else first_ms + (agg_id - first) * (
        last_ms - first_ms) / (last - first)


class _Budget:
    """The burst shedding each queue-pressure fault may excuse: harvest's queue_dropped
    increments inside its window."""

    def __init__(self, run: RunEvidence, hm: dict, t: Thresholds) -> None:
        self.run, self.t, self.speed = run, t, speed_of(run)
        drops = increments(hm.get("queue_dropped") or {}) if isinstance(
            hm.get("queue_dropped"), dict) else []
        self.faults = [f for f in run.faults if excuses(f, "counters", "queue_dropped")]
        self.left = {f.get("id"): sum(n for a, _b, n in drops
                                      if in_window(f, a, self.speed, t)) for f in self.faults}
        self.used = dict.fromkeys(self.left, 0)

    def take(self, t_ms: float) -> bool:
        for fault in self.faults:
            fid = fault.get("id")
            if self.left[fid] > 0 and in_window(fault, int(t_ms), self.speed, self.t):
                self.left[fid] -= 1
                self.used[fid] += 1
                return True
        return False


def _unsent(conn: dict) -> dict[str, set[int]]:
    return {s: {i for a, b in rs for i in range(a, b + 1)}
            for s, rs in (conn.get("unsent_aggtrade_ranges") or {}).items()}


def reconcile(run: RunEvidence, stats: dict, accepted: dict[str, set[int]], hm: dict,
              t: Thresholds) -> dict:
    """{"lost": {symbol: [(id, ms, conn)]}, "delivered": {symbol: set}, "in_flight": n,
    "overflow": {fault: n}}."""
    budget = _Budget(run, hm, t)
    lost: dict[str, list[tuple[int, float, int]]] = {}
    delivered: dict[str, set[int]] = {}
    in_flight = 0
    for conn in stats["connections"]:
        excused = closure_excused(run, conn, t)
        tail_from = (conn["closed_ms"] - t.in_flight_s * 1000) if excused else None
        unsent = _unsent(conn) if excused else {}
        for symbol, ranges in (conn.get("aggtrade_ranges") or {}).items():
            got, mine = accepted.get(symbol, set()), delivered.setdefault(symbol, set())
            held = unsent.get(symbol, set())
            for rng in ranges:
                for agg_id in range(rng[0], rng[1] + 1):
                    mine.add(agg_id)
                    if agg_id in got:
                        continue
                    at = _id_ms(rng, agg_id)
                    if tail_from is not None and (agg_id in held or at >= tail_from):
                        in_flight += 1
                    elif not budget.take(at):
                        lost.setdefault(symbol, []).append((agg_id, at, conn.get("id")))
    return {"lost": lost, "delivered": delivered, "in_flight": in_flight,
            "overflow": budget.used}


def _runs(ids: list[tuple[int, float, int]], start_ms: int | None, most: int = 4) -> str:
    """'5000100-5000120 (21, conn 3, +12.3 s), 5000150 (conn 3, +14.0 s), ...' (wall seconds
    from the market clock's start) for the reader of a failure."""
    ids = sorted(set(ids))
    runs: list[list] = []
    for agg_id, at, conn in ids:
        if runs and agg_id == runs[-1][1] + 1:
            runs[-1][1] = agg_id
        else:
            runs.append([agg_id, agg_id, at, conn])
    parts = [(f"{a}-{b} ({b - a + 1}, " if b > a else f"{a} (") + f"conn {c}"
             + (f", {(at - start_ms) / 1000:+.1f} s)" if start_ms else ")")
             for a, b, at, c in runs[:most]]
    return ", ".join(parts) + (f", {len(runs) - most} more run(s)" if len(runs) > most else "")


def by_feed(run: RunEvidence, stats: dict, accepted: dict[str, set[int]], hm: dict,
            t: Thresholds) -> ItemResult:
    found = reconcile(run, stats, accepted, hm, t)
    start = ((run.observations or {}).get("market_clock") or {}).get("start_wall_ms")
    total = sum(len(v) for v in found["delivered"].values())
    if not total:
        return unknown(NAME, "the feed delivered no aggTrade to harvest", None, 0, EVIDENCE)
    problems = [f"{s}: {len({i for i, _a, _c in v})} delivered by the feed, never in the "
                f"handoff, outside every window: {_runs(v, start)}"
                for s, v in sorted(found["lost"].items())]
    foreign = {s: sorted(ids - found["delivered"].get(s, set())) for s, ids in accepted.items()}
    problems += [f"{s}: {len(v)} id(s) in the handoff the feed never delivered "
                 f"(first {v[:3]})" for s, v in sorted(foreign.items()) if v]
    lost = sum(len({i for i, _a, _c in v}) for v in found["lost"].values())
    overflow = ", ".join(f"{k} {v}" for k, v in found["overflow"].items())
    text = (f"{total} aggTrade id(s) delivered by the feed; {found['in_flight']} in flight at "
            f"a fault's or the stop's close; burst overflow within harvest's queue_dropped: "
            f"{overflow or 'none'}")
    if problems:
        return failed(NAME, "; ".join(problems[:3]) + f" ({text})", lost, 0, EVIDENCE)
    return passed(NAME, f"{text}; every other one is in the handoff", 0, 0, EVIDENCE)


def _merge(mine: ItemResult, claim: ItemResult) -> ItemResult:
    """The feed's reconciliation and harvest's own claim as one part: the worse of the two."""
    rank = {"pass": 0, "not_claimed": 1, "unknown": 2, "fail": 3}
    worst, other = (mine, claim) if rank[mine.status] >= rank[claim.status] else (claim, mine)
    reason = worst.reason if other.status == "pass" else f"{worst.reason}; also: {other.reason}"
    if worst.status == "pass":
        reason = f"{mine.reason}; harvest's claim: {claim.reason}"
    make = {"fail": failed, "unknown": unknown}.get(worst.status, passed)
    return make(NAME, reason, mine.value, mine.threshold, EVIDENCE)


def _last_process_claim(manifest: dict, accepted: dict[str, set[int]]) -> dict:
    """The manifest with harvest's aggtrade_ids replaced by the handoff's own: after a restart
    harvest's ids cover its last process only, never the whole handoff (its side is the feed
    reconciliation's business then); signal's side of the claim is still judged."""
    hm = dict(manifest.get("harvester_metrics") or {})
    hm["aggtrade_ids"] = {s: {"first": min(v), "last": max(v), "count": len(v)}
                          for s, v in accepted.items() if v}
    return {**manifest, "harvester_metrics": hm}


def no_event_lost(run: RunEvidence, manifest: dict, t: Thresholds,
                  claim: Callable[[RunEvidence, dict], ItemResult]) -> ItemResult:
    """D9's "no event lost": the feed's reconciliation merged with harvest's and signal's
    claim (`claim(run, manifest)`, restart.py). Without a replay feed (the real exchange) only
    the claim can be judged."""
    from pytest_soak.checks.restart import handoff_aggtrade_ids  # restart.py calls us

    stats, why = feed_stats(run)
    if stats is None:
        claimed = claim(run, manifest)
        return _merge(unknown(NAME, why, None, 0, EVIDENCE), claimed) if why else claimed
    handoff = handoff_aggtrade_ids(run)
    if handoff is None:
        return unknown(NAME, "no handoff/market log to reconcile the feed's deliveries with",
                       None, 0, EVIDENCE)
    accepted = {s: set(v) for s, v in handoff.items()}
    hm = manifest.get("harvester_metrics") if isinstance(manifest, dict) else None
    mine = by_feed(run, stats, accepted, hm if isinstance(hm, dict) else {}, t)
    if last_process_since_ms(run):
        return _merge(mine, claim(run, _last_process_claim(manifest, accepted)))
    return _merge(mine, claim(run, manifest))
