"""The fault runner: drives the schedule, each fault through its kind (pytest_soak/fault_kinds/).

A fault counts only once its effect is seen (SPEC §7): the kind's `confirm()` is polled until
it returns a proof (a dict) or the fault's confirmation deadline passes; an unconfirmed fault
makes its DoD items `unknown`, never `pass`. The runner calls start at the planned market
second, end at the window's end (instant faults end at once), and a heal step ends everything.
"""

from __future__ import annotations

import time
from typing import Any

from pytest_soak.fault_kinds import FaultContext
from pytest_soak.faults import PlannedFault, Schedule
from pytest_soak.history import History, now_ms

__all__ = ["FaultContext", "FaultRunner"]


class FaultRunner:
    """Drives the schedule from the session loop: `step()` on every tick."""

    def __init__(self, schedule: Schedule, ctx: FaultContext, history: History,
                 confirm_timeout_s: float = 30.0) -> None:
        self.schedule, self.ctx, self.history = schedule, ctx, history
        self.confirm_timeout_s = confirm_timeout_s
        self.state: dict[str, dict] = {}          # fault id -> action state
        self.phase: dict[str, str] = {f.id: "planned" for f in schedule.faults}
        self.deadline: dict[str, float] = {}
        for f in schedule.faults:
            history.plan(f)

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
            effect = f.spec.end(f, self.ctx)
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
            f.spec.on_confirmed(f, self.state[f.id], proof, self.history, market_s)
        elif time.monotonic() > self.deadline[f.id] and self.phase[f.id] == "ended":
            rec["_gave_up"] = True
            self.history.fault_failed(f.id, market_s, "effect not seen within "
                                      f"{self.confirm_timeout_s:g} s after the fault")

    def heal(self, market_s: float) -> None:
        """End every fault still active (the heal step, and the stop/interrupt path)."""
        for f in self.schedule.faults:
            if self.phase[f.id] == "active" and not f.spec.heals_all:
                self._end(f, market_s)

    def finish(self, market_s: float) -> None:
        """At the stop: heal, give every unconfirmed fault a last look, record restarts that
        never came back (each kind records what it must of a fault never confirmed)."""
        self.heal(market_s)
        for f in self.schedule.faults:
            if f.id in self.state:
                self._try_confirm(f, market_s)
            rec = self.history.faults[f.id]
            rec.pop("_gave_up", None)
            if f.id in self.state and not rec["effect_confirmed"]:
                f.spec.on_never_confirmed(f, self.state[f.id], self.history, market_s)


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {str(k): _jsonable(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_jsonable(v) for v in doc]
    if isinstance(doc, (str, int, float, bool)) or doc is None:
        return doc
    return str(doc)
