"""What each fault kind does, and how the harness proves it took effect.

A fault counts only once its effect is seen (SPEC §7): `confirm()` is polled until it returns a
proof (a dict) or the fault's confirmation deadline passes; an unconfirmed fault makes its DoD
items `unknown`, never `pass`. The runner (`FaultRunner`) calls start at the planned market
second, end at the window's end (instant faults end at once), and heal ends everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

from pytest_soak.faults import PlannedFault, Schedule
from pytest_soak.history import History, now_ms


@dataclass
class FaultContext:
    """What fault actions may touch; any part may be None (then faults needing it fail)."""

    feed: Any              # sidecars.FeedSidecar
    store: Any             # sidecars.StoreSidecar
    observer: Any          # observer.Observer
    read_status: Any       # callable(stage) -> status dict | None (the pipeline's claims)
    market_s: Any          # callable() -> market seconds since run start
    event_ms: Any          # callable() -> feed event time (ms) or None
    speed: float = 1.0     # the run's pacing (market seconds per wall second)


class Action(Protocol):
    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]: ...
    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None: ...
    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]: ...


class KillStage:
    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        pid = ctx.observer.tree.stage_pids().get(f.target)
        if pid is None:
            raise RuntimeError(f"no live process for stage {f.target!r}")
        proc = psutil.Process(pid)
        proc.kill()                       # SIGKILL on POSIX, TerminateProcess on Windows
        killed_ms = now_ms()
        try:
            proc.wait(timeout=5)
            gone = True
        except psutil.TimeoutExpired:
            gone = False
        return {"old_pid": pid, "signal": "SIGKILL", "killed_ms": killed_ms, "old_pid_gone": gone}

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        obs = ctx.observer
        entry = obs.pids.first_new_pid(f.target, state["old_pid"], state["killed_ms"])
        if entry is None:
            return None
        healthy_ms = obs.first_healthy_after(f.target, entry["first_seen_ms"])
        if healthy_ms is None:
            return None
        return {"new_pid": entry["pid"], "new_pid_seen_ms": entry["first_seen_ms"],
                "healthy_again_ms": healthy_ms,
                "restart_s": round((healthy_ms - state["killed_ms"]) / 1000, 3)}

    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return {}


class FeedControl:
    """A fault the replay feed performs through its control API."""

    def __init__(self, control: str, windowed: bool) -> None:
        self.control, self.windowed = control, windowed

    def params(self, f: PlannedFault, speed: float | None = None) -> dict[str, Any]:
        params = dict(f.params)
        if f.kind == "stall_substream":
            params.setdefault("stream", f.target)
            params.setdefault("sticky", True)     # a resubscribe must not cure it mid-window
        if f.kind == "pause_feed" and f.target:
            params.setdefault("stream", f.target)
        if f.kind == "burst" and speed:
            # The burst speeds up the feed's own clock, so its market window passes in a blink
            # of wall time; the feed ends it itself, precisely, after this many wall ms.
            factor = float(params.get("factor", 10))
            params.setdefault("duration_ms", round((f.end_s - f.start_s) * 1000
                                                   / (speed * factor)))
        return params

    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        if ctx.feed is None:
            raise RuntimeError("no replay feed in this run (--soak-feed exchange)")
        answer = ctx.feed.control(self.control, "start", self.params(f, ctx.speed))
        before = _harvest_metric(ctx, "queue_dropped") if f.kind == "burst" else None
        return {"control": self.control, "answer": answer, "queue_dropped_before": before}

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        answer = state.get("answer") or {}
        if f.kind == "drop_connections":
            dropped = answer.get("dropped") or []
            return {"dropped_connections": dropped} if dropped else None
        feed_state = ctx.feed.state()
        if f.kind == "pause_feed":
            paused = feed_state.get("paused_all") or (
                self.params(f).get("stream") in feed_state.get("paused_streams", []))
            return {"feed_paused": True, "skipped": feed_state.get("skipped")} if paused else None
        if f.kind == "regime":
            want = f.params.get("regime")
            regimes = feed_state.get("regimes") or {}
            return {"regimes": regimes} if want in regimes.values() else None
        if f.kind == "stall_substream":
            stalled = [c["id"] for c in feed_state.get("connections", [])
                       if f.target in c.get("stalled", [])]
            return {"stalled_connections": stalled} if stalled else None
        if f.kind == "burst":
            after = _harvest_metric(ctx, "queue_dropped")
            before = state.get("queue_dropped_before") or 0
            if after is not None and after > before:
                return {"queue_dropped_before": before, "queue_dropped_after": after,
                        "rate": feed_state.get("rate")}
            return None
        return {"answer": answer}

    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        if not self.windowed or ctx.feed is None:
            return {}
        return {"end_answer": ctx.feed.control(self.control, "end", self.params(f))}


class StoreDown:
    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        if ctx.store is None or not ctx.store.can_go_down:
            raise RuntimeError("the time-series store is not the harness's own (or none): "
                               "it cannot be taken down")
        return ctx.store.go_down()

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        return {"write_refused": True} if ctx.store.refuses_writes() else None

    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return ctx.store.come_back()


class Heal:
    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return {}

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        return {"healed": True}

    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return {}


ACTIONS: dict[str, Action] = {
    "kill_stage": KillStage(),
    "drop_connections": FeedControl("drop", windowed=False),
    "regime": FeedControl("regime", windowed=True),
    "pause_feed": FeedControl("pause", windowed=True),
    "burst": FeedControl("burst", windowed=True),
    "stall_substream": FeedControl("stall", windowed=True),
    "store_down": StoreDown(),
    "heal": Heal(),
}


def _harvest_metric(ctx: FaultContext, key: str) -> float | None:
    status = ctx.read_status("harvest") or {}
    value = (status.get("metrics") or {}).get(key)
    return value if isinstance(value, (int, float)) else None


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
        action = ACTIONS[f.kind]
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
        if f.kind == "heal":
            self.heal(market_s)

    def _end(self, f: PlannedFault, market_s: float) -> None:
        ended_ms, event_ms = now_ms(), self.ctx.event_ms()
        try:
            effect = ACTIONS[f.kind].end(f, self.ctx)
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
            proof = ACTIONS[f.kind].confirm(f, self.ctx, self.state[f.id])
        except Exception as exc:  # noqa: BLE001 - try again next tick
            proof = None
            self.state[f.id]["last_confirm_error"] = repr(exc)
        if proof is not None:
            self.history.fault_confirmed(f.id, market_s, _jsonable(proof))
            if f.kind == "kill_stage":
                self.history.restart({"stage": f.target, "fault_id": f.id,
                                      "killed_ms": self.state[f.id]["killed_ms"],
                                      "old_pid": self.state[f.id]["old_pid"], **proof}, market_s)
        elif time.monotonic() > self.deadline[f.id] and self.phase[f.id] == "ended":
            rec["_gave_up"] = True
            self.history.fault_failed(f.id, market_s, "effect not seen within "
                                      f"{self.confirm_timeout_s:g} s after the fault")

    def heal(self, market_s: float) -> None:
        """End every fault still active (the heal step, and the stop/interrupt path)."""
        for f in self.schedule.faults:
            if self.phase[f.id] == "active" and f.kind != "heal":
                self._end(f, market_s)

    def finish(self, market_s: float) -> None:
        """At the stop: heal, give every unconfirmed fault a last look, record restarts that
        never came back."""
        self.heal(market_s)
        for f in self.schedule.faults:
            if f.id in self.state:
                self._try_confirm(f, market_s)
            rec = self.history.faults[f.id]
            rec.pop("_gave_up", None)
            if f.kind == "kill_stage" and f.id in self.state and not rec["effect_confirmed"]:
                st = self.state[f.id]
                self.history.restart({"stage": f.target, "fault_id": f.id,
                                      "killed_ms": st["killed_ms"], "old_pid": st["old_pid"],
                                      "new_pid": None, "new_pid_seen_ms": None,
                                      "healthy_again_ms": None, "restart_s": None}, market_s)


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {str(k): _jsonable(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_jsonable(v) for v in doc]
    if isinstance(doc, (str, int, float, bool)) or doc is None:
        return doc
    return str(doc)
