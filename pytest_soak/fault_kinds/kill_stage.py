"""kill_stage: SIGKILL one stage's process (D9); the supervisor must restart it.

Proof: a new pid for the stage and a healthy poll after it (gives `restart_s`), all seen by
the harness's own observer, which polls the stage's health every fast tick (0.1 s) from the
kill until it is back, so `restart_s` is not rounded up to the D2 poll grid (10 wall s at
1x). Tolerates the killed stage's health, and reconnect_count only when the target is
harvest (a restarted harvest opens its connections again; a kill of any other stage leaves
harvest's connections alone, so a reconnect then is a stray). Wall clock: the restart plays
out in wall seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import psutil

from pytest_soak.fault_kinds.base import (
    Expects,
    FaultContext,
    FaultKind,
    Tolerates,
    now_ms,
    with_health,
)


@dataclass(frozen=True)
class KillStage(FaultKind):
    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        # only a killed harvest re-opens the feed's connections: reconnects are its alone
        counters = ("reconnect_count",) if target == "harvest" else ()
        return with_health(replace(self.tolerates, counters=counters), target)

    def start(self, f: Any, ctx: FaultContext) -> dict[str, Any]:
        pid = ctx.observer.tree.stage_pids().get(f.target)
        if pid is None:
            raise RuntimeError(f"no live process for stage {f.target!r}")
        proc = psutil.Process(pid)
        proc.kill()                       # SIGKILL on POSIX, TerminateProcess on Windows
        killed_ms = now_ms()
        ctx.observer.watch_recovery(f.target, pid, killed_ms)
        try:
            proc.wait(timeout=5)
            gone = True
        except psutil.TimeoutExpired:
            gone = False
        return {"old_pid": pid, "signal": "SIGKILL", "killed_ms": killed_ms, "old_pid_gone": gone}

    def confirm(self, f: Any, ctx: FaultContext, state: dict) -> dict | None:
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

    def on_confirmed(self, f: Any, state: dict, proof: dict, history: Any,
                     market_s: float) -> None:
        history.restart({**_the_kill(f, state), **proof}, market_s)

    def on_never_confirmed(self, f: Any, state: dict, history: Any, market_s: float) -> None:
        history.restart({**_the_kill(f, state), "new_pid": None, "new_pid_seen_ms": None,
                         "healthy_again_ms": None, "restart_s": None}, market_s)


def _the_kill(f: Any, state: dict) -> dict[str, Any]:
    """What every restart record of a kill starts with."""
    return {"stage": f.target, "fault_id": f.id, "killed_ms": state["killed_ms"],
            "old_pid": state["old_pid"]}


KIND = KillStage(
    name="kill_stage", windowed=False, clock="wall", applied_by="harness", target="required",
    target_is="stage",
    what="SIGKILL the stage's process (found by psutil)",
    proof="a new pid for the stage and a healthy poll after it; gives `restart_s`",
    expects=Expects(items=("D9",)),
    tolerates=Tolerates(),
    tolerates_doc="the killed stage's health; reconnect_count when the target is harvest",
)
