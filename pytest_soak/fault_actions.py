"""The fault runner: drives the schedule, each fault through its kind (pytest_soak/fault_kinds/).

A fault counts only once its effect is seen (SPEC §7): the kind's `confirm()` is polled until
it returns a proof (a dict) or the fault's confirmation deadline passes; an unconfirmed fault
makes its DoD items `unknown`, never `pass`. The runner calls start at the planned market
second, end at the window's end (instant faults end at once), and a heal step ends everything.

Feed faults (`FeedFault`: pause, stall, gap, burst, malformed, regime, drop) act in event
time: the runner hands them all to the feed when the schedule starts (`POST /control/plan`,
times in the feed's session ms = the market clock's start + the fault's market seconds), and
the feed applies each at exactly the first event at/after its start and ends it at the first
event at/after its end. The runner's start/end then only mark the planned moments; the
record gets the exact events (`applied`, and start/end_event_ms / started/ended_ms from the
feed's application) once the feed has applied them.
"""

from __future__ import annotations

import time
from typing import Any

from pytest_soak.fault_kinds import FaultContext, FeedFault
from pytest_soak.fault_kinds.base import applied_of
from pytest_soak.faults import PlannedFault, Schedule
from pytest_soak.history import History, now_ms

__all__ = ["FaultContext", "FaultRunner"]


MARKET_END = "market-end"


class FaultRunner:
    """Drives the schedule from the session loop: `step()` on every tick."""

    def __init__(self, schedule: Schedule, ctx: FaultContext, history: History,
                 confirm_timeout_s: float = 30.0, end_s: float | None = None) -> None:
        self.schedule, self.ctx, self.history = schedule, ctx, history
        self.confirm_timeout_s = confirm_timeout_s
        self.state: dict[str, dict] = {}          # fault id -> action state
        self.phase: dict[str, str] = {f.id: "planned" for f in schedule.faults}
        self.deadline: dict[str, float] = {}
        self.plan_errors: dict[str, str] = {}     # a feed fault the feed did not take
        self.end_s = end_s                         # the market's end: the feed stops there
        for f in schedule.faults:
            history.plan(f)
        self._hand_plan()

    def _in_event_time(self) -> list[PlannedFault]:
        if self.ctx.feed is None or self.ctx.start_event_ms is None:
            return []
        return [f for f in self.schedule.faults if isinstance(f.spec, FeedFault)]

    def _hand_plan(self) -> None:
        """Every feed fault to the feed, up front, at its market times in session ms; and the
        market's end: from market second `end_s` on the feed sends nothing, so what the
        pipeline receives before the SIGINT that follows is the same in every run of a seed
        (the SIGINT itself is a wall-clock act)."""
        faults = self._in_event_time()
        if not faults and (self.end_s is None or self.ctx.feed is None
                           or self.ctx.start_event_ms is None):
            return
        try:
            session0 = self.ctx.start_event_ms - self.ctx.feed.state()["session_start_ms"]
        except Exception as exc:  # noqa: BLE001 - recorded at each fault's start
            self.plan_errors = {f.id: f"the feed's session is unknown: {exc}" for f in faults}
            return
        entries = []
        for f in faults:
            try:
                entries.append(f.spec.plan_entry(f, self.ctx, session0))
            except Exception as exc:  # noqa: BLE001 - e.g. a regime on a recording
                self.plan_errors[f.id] = str(exc)
        if self.end_s is not None:
            entries.append({"id": MARKET_END, "control": "pause", "params": {},
                            "start_ms": round(session0 + self.end_s * 1000), "end_ms": None})
        if not entries:
            return
        try:
            self.ctx.feed.control("plan", "start", {"faults": entries})
        except Exception as exc:  # noqa: BLE001
            self.plan_errors.update({e["id"]: f"the feed refused the plan: {exc}"
                                     for e in entries})
        self.history.record("feed_plan", 0.0, session0_ms=session0, faults=entries)

    def active(self) -> list[str]:
        return [i for i, p in self.phase.items() if p == "active"]

    def windows_at(self, market_s: float) -> list[str]:
        return [f.id for f in self.schedule.faults if f.start_s <= market_s <= f.end_s
                and not f.instant] + [i for i in self.active()]

    def step(self, market_s: float) -> None:
        for f in self.schedule.faults:
            phase = self.phase[f.id]
            if phase == "planned" and market_s >= f.start_s:
                self._start(f, market_s)
            if self.phase[f.id] == "active" and (f.instant or market_s >= f.end_s):
                self._end(f, market_s)
            self._try_confirm(f, market_s)

    def _start(self, f: PlannedFault, market_s: float) -> None:
        action = f.spec
        started_ms, event_ms = now_ms(), self.ctx.event_ms()
        try:
            if f.id in self.plan_errors:
                raise RuntimeError(self.plan_errors[f.id])
            state = action.start(f, self.ctx)
        except Exception as exc:  # noqa: BLE001 - a failed fault is recorded, the run goes on
            self.phase[f.id] = "failed"
            self.history.fault_failed(f.id, market_s, f"start failed: {exc}")
            return
        self.state[f.id] = state
        self.phase[f.id] = "active"
        self.deadline[f.id] = time.monotonic() + self.confirm_timeout_s
        self.history.fault_started(f.id, market_s, event_ms, _jsonable(state), started_ms)
        if action.heals_all:
            self.heal(market_s)

    def _end(self, f: PlannedFault, market_s: float) -> None:
        ended_ms, event_ms = now_ms(), self.ctx.event_ms()
        try:
            effect = f.spec.end_with(f, self.ctx, self.state.get(f.id, {}))
        except Exception as exc:  # noqa: BLE001
            self.history.fault_failed(f.id, market_s, f"end failed: {exc}")
            effect = {}
        self.phase[f.id] = "ended"
        self.history.fault_ended(f.id, market_s, event_ms, _jsonable(effect), ended_ms)

    def _try_confirm(self, f: PlannedFault, market_s: float) -> None:
        rec = self.history.faults[f.id]
        if rec["effect_confirmed"] or f.id not in self.state or rec.get("_gave_up"):
            return
        try:
            proof = f.spec.confirm(f, self.ctx, self.state[f.id])
        except Exception as exc:  # noqa: BLE001 - try again next tick
            proof = None
            self.state[f.id]["last_confirm_error"] = repr(exc)
        if proof is not None:
            self.history.fault_confirmed(f.id, market_s, _jsonable(proof))
            if "applied" in proof:
                self.history.fault_applied(f.id, _jsonable(proof["applied"]))
            f.spec.on_confirmed(f, self.state[f.id], proof, self.history, market_s)
        elif time.monotonic() > self.deadline[f.id] and self.phase[f.id] == "ended":
            rec["_gave_up"] = True
            self.history.fault_failed(f.id, market_s, "effect not seen within "
                                      f"{self.confirm_timeout_s:g} s after the fault")

    def heal(self, market_s: float) -> None:
        """End every fault still active (the heal step, and the stop/interrupt path)."""
        ended = [f for f in self.schedule.faults
                 if self.phase[f.id] == "active" and not f.spec.heals_all]
        for f in ended:
            self._end(f, market_s)
        in_feed = [f.id for f in ended if f in self._in_event_time()]
        if in_feed:        # the feed ends them at once (it would at their planned event)
            try:
                self.ctx.feed.control("plan", "end", {"ids": in_feed})
            except Exception as exc:  # noqa: BLE001
                self.history.error(f"the feed did not end {in_feed}: {exc}", market_s)

    def finish(self, market_s: float) -> None:
        """At the stop: heal, give every unconfirmed fault a last look, record restarts that
        never came back (each kind records what it must of a fault never confirmed)."""
        self.heal(market_s)
        self._read_applied()
        for f in self.schedule.faults:
            if f.id in self.state:
                self._try_confirm(f, market_s)
            rec = self.history.faults[f.id]
            rec.pop("_gave_up", None)
            if f.id in self.state and not rec["effect_confirmed"]:
                f.spec.on_never_confirmed(f, self.state[f.id], self.history, market_s)


    def _read_applied(self) -> None:
        """The exact events of every feed fault's start and end, from the feed's plan."""
        faults = {f.id for f in self._in_event_time() if f.id in self.state}
        if not faults:
            return
        try:
            plan = self.ctx.feed.state().get("plan") or []
        except Exception as exc:  # noqa: BLE001
            self.history.error(f"the feed's plan could not be read at the end: {exc}")
            return
        for entry in plan:
            if entry["id"] in faults and entry.get("start") is not None:
                self.history.fault_applied(entry["id"], _jsonable(applied_of(entry)))


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {str(k): _jsonable(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_jsonable(v) for v in doc]
    if isinstance(doc, (str, int, float, bool)) or doc is None:
        return doc
    return str(doc)
