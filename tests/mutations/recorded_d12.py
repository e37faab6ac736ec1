"""D12 broken in the recorded good run: decisions missing, doubled, without a reason or
swapped for an ineligible signal's (hole "D12 decisions"), and ready/ seen torn or changing by
the harness's watch, or not watched at all (hole "D12 ready/")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pytest_soak_evidence.orders import client_order_id
from tests.soak_checks.factory import rewrite, signal_rows, write_jsonl

from .catalogue import Mutation

READY = "outbox/ready/0001.jsonl"
DECISIONS = (("D12", "terminal decisions"),)
WATCH = (("D12", "ready/ never torn"),)


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / READY).read_text().splitlines()]


def _edit_ready(change: Callable[[list[dict]], list[dict]], honest: bool = True
                ) -> Callable[[Path], None]:
    """Rewrite ready/'s events; `honest`: the broker's counts say what the file now holds."""
    def apply(run: Path) -> None:
        events = change(_events(run))
        write_jsonl(run / READY, events)
        if honest:
            def counts(doc: dict) -> None:
                for kind, key in (("submit", "orders"), ("fill", "fills"), ("reject", "rejects")):
                    doc["executor_metrics"][key] = sum(e["event"] == kind for e in events)
            rewrite(run, "run_manifest.json", counts)
    return apply


def _coids(events: list[dict], kind: str) -> list[str]:
    return [e["client_order_id"] for e in events if e["event"] == kind]


def _drop_one(events: list[dict]) -> list[dict]:
    gone = _coids(events, "fill")[4]           # mid-run, later signals of its symbol decided
    return [e for e in events if e["client_order_id"] != gone]


def _decide_twice(events: list[dict]) -> list[dict]:
    filled = next(e for e in events if e["event"] == "fill")
    return events + [{**filled, "event": "reject", "status": "rejected",
                      "reason": "executor_error", "px_fill": None, "fill_qty": None,
                      "fee": None, "liquidity": None}]


def _mute_reject(events: list[dict]) -> list[dict]:
    first = next(e for e in events if e["event"] == "reject")
    first["reason"] = ""                        # schema-valid (a string), says nothing
    return events


def _swap_for_ineligible(events: list[dict]) -> list[dict]:
    """One eligible signal's decision is written under an unconfirmed signal's identity: the
    counts are the declared ones (one decision per eligible signal), every id is known."""
    other = next(r for r in signal_rows() if not r["confirm"])
    gone = _coids(events, "fill")[2]
    for e in events:
        if e["client_order_id"] == gone:
            e.update(client_order_id=client_order_id(other), signal_row_id=other["row_id"])
    return events


def _stop_deciding(events: list[dict]) -> list[dict]:
    """The broker stops at market minute 4 of 12: the rest is no 'pending after the stop'."""
    late = {client_order_id(r) for r in signal_rows() if r["ts_ms"] >= signal_rows()[40]["ts_ms"]}
    return [e for e in events if e["client_order_id"] not in late]


def _unknown_signal(events: list[dict]) -> list[dict]:
    events[-1]["signal_row_id"] = "r99999"      # a signal no sink holds
    return events


def _claim_declared(run: Path) -> None:
    """A decision lost on the way to ready/ while the broker reports it written."""
    _edit_ready(lambda events: events[:-1], honest=False)(run)


def _watch(change: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda run: rewrite(run, "harness_observations.json",
                               lambda doc: change(doc["ready_watch"]))


def _seen_torn(watch: dict) -> None:
    watch["torn"] = [{"file": "0001.jsonl", "seen_ms": watch["started_ms"] + 2000,
                      "size": 700, "why": "last line not newline-terminated"}]
    watch["torn_count"] = 1


def _grew(watch: dict) -> None:
    entry = watch["files"]["0001.jsonl"]
    watch["changed"] = [{"file": "0001.jsonl", "first_seen_ms": entry["first_seen_ms"],
                         "changed_ms": entry["first_seen_ms"] + 300, "why": "size/mtime changed",
                         "before": {"size": 700, "sha256": "0" * 64},
                         "after": {"size": entry["size"], "sha256": entry["sha256"]}}]
    watch["changed_count"] = 1


def _left_torn(run: Path) -> None:
    """Published mid-write and never finished: torn when the watch saw it and at the end."""
    path = run / READY
    path.write_bytes(path.read_bytes()[:-40])
    _watch(_seen_torn)(run)


def _no_watch(run: Path) -> None:
    rewrite(run, "harness_observations.json", lambda doc: doc.pop("ready_watch"))


def _m(name: str, fails: tuple, hole: str | None, apply: Callable[[Path], None],
       disguise: str = "wrong", unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=hole, apply=apply,
                    unknown_ok=unknown_ok)


MUTATIONS = [
    _m("an eligible signal has no decision", DECISIONS, "D12 decisions", _edit_ready(_drop_one)),
    _m("an order has a fill and a reject", DECISIONS, "D12 decisions",
       _edit_ready(_decide_twice)),
    _m("a reject without a reason", DECISIONS, "D12 decisions", _edit_ready(_mute_reject)),
    _m("the broker stops deciding mid-run", DECISIONS, "D12 decisions",
       _edit_ready(_stop_deciding)),
    _m("a decision moved to an ineligible signal, counts as declared", DECISIONS,
       "D12 decisions", _edit_ready(_swap_for_ineligible, honest=False), disguise="declared"),
    _m("the broker claims a decision ready/ does not hold", (("D12", "broker count"),), None,
       _claim_declared, disguise="declared"),
    _m("an outbox event names a signal no sink holds", (("D12", "signal ids"),), None,
       _edit_ready(_unknown_signal)),
    _m("the watch saw a ready/ file torn, whole by the end", WATCH, "D12 ready/",
       _watch(_seen_torn), disguise="declared"),
    _m("a ready/ file grew after it appeared", WATCH, "D12 ready/", _watch(_grew),
       disguise="declared"),
    _m("a ready/ file published torn and left so", WATCH + (("D12", "ready/ clean"),),
       "D12 ready/", _left_torn),
    _m("no watch of ready/ recorded", WATCH, "D12 ready/", _no_watch, disguise="absent",
       unknown_ok=True),
]
