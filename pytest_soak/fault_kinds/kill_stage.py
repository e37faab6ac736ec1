"""kill_stage: SIGKILL one stage's process (D9); the supervisor must restart it.

Proof: a new pid for the stage and a healthy poll after it (gives `restart_s`), all seen by
the harness's own observer, which polls the stage's health every fast tick (0.1 s) from the
kill until it is back, so `restart_s` is not rounded up to the D2 poll grid (10 wall s at
1x). Tolerates the killed stage's health -- only its own: no other stage was unhealthy
around a kill of signal in two gate runs at 30x and two LIVE runs at 1x (freshness is
harvest's only), nor around a kill of each of the four stages in tests/orchestrator's
lifecycle test, which asserts it -- and reconnect_count only when the target is harvest (a
restarted harvest opens its connections again; a kill of any other stage leaves harvest's
connections alone, so a reconnect then is a stray), for 60 market s after the kill
(`for_s`). Measured, the killed stage was back 0.56-0.79 wall s after the kill (24 market s
at 30x: two unhealthy polls); 60 s covers a second kill inside the stable period (the
backoff doubles to 0.4 s) with room for a loaded machine. A schedule whose restarts take
longer (a slower backoff, a higher speed) sets its own `for_s`. Wall clock: the restart
plays out in wall seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psutil

from pytest_soak.fault_kinds.base import (
    Expects,
    FaultContext,
    FaultKind,
    Tolerates,
    live_stage_pid,
    now_ms,
    stage_fault_tolerates,
)
from pytest_soak.resources import started_ms


@dataclass(frozen=True)
class KillStage(FaultKind):
    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        return stage_fault_tolerates(self.tolerates, target)

    def start(self, f: Any, ctx: FaultContext) -> dict[str, Any]:
        pid = live_stage_pid(f, ctx)
        proc = psutil.Process(pid)
        old_started = started_ms(proc)   # its uptime at the kill: D9's backoff reset
        # taken just before the signal: never later than the death, so a harness thread
        # descheduled after the kill cannot shrink D9's kill -> new pid gap
        killed_ms = now_ms()
        proc.kill()                       # SIGKILL on POSIX, TerminateProcess on Windows
        ctx.observer.watch_recovery(f.target, pid, killed_ms)
        try:
            proc.wait(timeout=5)
            gone = True
        except psutil.TimeoutExpired:
            gone = False
        return {"old_pid": pid, "signal": "SIGKILL", "killed_ms": killed_ms, "old_pid_gone": gone,
                "old_pid_started_ms": old_started}

    def confirm(self, f: Any, ctx: FaultContext, state: dict) -> dict | None:
        obs = ctx.observer
        entry = obs.pids.first_new_pid(f.target, state["old_pid"], state["killed_ms"])
        if entry is None:
            return None
        if state.get("new_pid") != entry["pid"]:
            # the new pid's own start (not when the observer first saw it): D9's kill -> new
            # pid gap against the declared backoff; taken at once, while the pid is alive
            state["new_pid"], state["new_pid_started_ms"] = entry["pid"], _started(entry["pid"])
        # kept for the record of a restart that never becomes healthy (on_never_confirmed)
        state["new_pid_seen_ms"] = entry["first_seen_ms"]
        if ctx.level == 0:      # no health URL: the new pid is all the harness can see
            return {"new_pid": entry["pid"], "new_pid_seen_ms": entry["first_seen_ms"],
                    "new_pid_started_ms": state["new_pid_started_ms"],
                    "healthy_again_ms": None, "healthy_again_pid": None, "restart_s": None}
        # healthy: the body says so and names a pid the harness sees live (pytest_soak/health)
        healthy = obs.first_healthy_poll_after(f.target, entry["first_seen_ms"])
        if healthy is None:
            return None
        return {"new_pid": entry["pid"], "new_pid_seen_ms": entry["first_seen_ms"],
                "new_pid_started_ms": state["new_pid_started_ms"],
                "healthy_again_ms": healthy[0], "healthy_again_pid": healthy[1],
                "restart_s": round((healthy[0] - state["killed_ms"]) / 1000, 3)}

    def on_confirmed(self, f: Any, state: dict, proof: dict, history: Any,
                     market_s: float) -> None:
        history.restart({**_the_kill(f, state), **proof}, market_s)

    def on_never_confirmed(self, f: Any, state: dict, history: Any, market_s: float) -> None:
        history.restart({**_the_kill(f, state), "new_pid": state.get("new_pid"),
                         "new_pid_seen_ms": state.get("new_pid_seen_ms"),
                         "new_pid_started_ms": state.get("new_pid_started_ms"),
                         "healthy_again_ms": None, "restart_s": None}, market_s)


def _the_kill(f: Any, state: dict) -> dict[str, Any]:
    """What every restart record of a kill starts with."""
    return {"stage": f.target, "fault_id": f.id, "killed_ms": state["killed_ms"],
            "old_pid": state["old_pid"], "old_pid_started_ms": state.get("old_pid_started_ms")}


def _started(pid: int) -> int | None:
    try:
        return started_ms(psutil.Process(pid))
    except psutil.Error:
        return None


KIND = KillStage(
    name="kill_stage", windowed=False, clock="wall", applied_by="harness", target="required",
    target_is="stage",
    what="SIGKILL the stage's process (found by psutil)",
    proof="a new pid for the stage and a healthy poll after it; gives `restart_s` and both "
          "pids' start times (psutil)",
    expects=Expects(items=("D9",)),
    tolerates=Tolerates(for_s=60.0),
    tolerates_doc="the killed stage's health; reconnect_count when the target is harvest",
)
