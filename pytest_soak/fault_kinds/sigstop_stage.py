"""sigstop_stage: SIGSTOP one stage's process for the window, SIGCONT at its end.

A process fault in wall time, applied by the harness (psutil `suspend`/`resume`: SIGSTOP and
SIGCONT on POSIX, the thread suspension of NtSuspendProcess on Windows). A stopped stage
stops heartbeating: a window longer than the supervisor's hung timeout (the reference's
`heartbeat_timeout_s`, 5 wall s) gets it SIGKILLed as hung and restarted; a shorter one only
delays it. Proof: psutil shows the process stopped (on Windows, where no status says so, the
suspension call returning). The end resumes the same pid if it is still alive and says
whether it was (`resumed`) or replaced (`replaced_by`: the supervisor killed it as hung).
Expects nothing by default (a schedule may expect what its window provokes); tolerates the
stage's health (stale heartbeat) for 60 market s after the window, and reconnect_count when
the target is harvest (its connections go quiet, the feed may drop it as a slow consumer).
Measured in a gate-length soak (fixtures/faults/process_and_data.yaml, 30x): signal stopped
for 2 wall s was resumed (same pid), no restart, every other DoD item passed; stopped for 6
wall s it was SIGKILLed by the supervisor at heartbeat age 5.03 s and restarted 0.2 s later,
and D9 failed the run ("the stage also died without the harness"): a window past the hung
timeout is a kill the harness did not make, so keep windows under it unless the schedule's
D9 is meant to see that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psutil

from pytest_soak.fault_kinds.base import (
    FaultContext,
    FaultKind,
    Tolerates,
    live_stage_pid,
    now_ms,
    stage_fault_tolerates,
)


@dataclass(frozen=True)
class SigstopStage(FaultKind):
    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        return stage_fault_tolerates(self.tolerates, target)

    def start(self, f: Any, ctx: FaultContext) -> dict[str, Any]:
        pid = live_stage_pid(f, ctx)
        stopped_ms = now_ms()
        psutil.Process(pid).suspend()
        return {"stopped_pid": pid, "signal": "SIGSTOP", "stopped_ms": stopped_ms}

    def confirm(self, f: Any, ctx: FaultContext, state: dict) -> dict | None:
        try:
            status = psutil.Process(state["stopped_pid"]).status()
        except psutil.Error:
            return None
        if status == psutil.STATUS_STOPPED or psutil.WINDOWS:
            return {"stopped_pid_status": status}
        return None

    def end_with(self, f: Any, ctx: FaultContext, state: dict) -> dict[str, Any]:
        stopped, current = state.get("stopped_pid"), ctx.observer.tree.stage_pids().get(f.target)
        try:
            psutil.Process(stopped).resume()
            resumed = True
        except (psutil.Error, TypeError, ValueError):
            resumed = False                    # gone: the supervisor killed it as hung
        return {"resumed": resumed, "resumed_ms": now_ms(),
                "replaced_by": current if current != stopped else None}


KIND = SigstopStage(
    name="sigstop_stage", windowed=True, clock="wall", applied_by="harness", target="required",
    target_is="stage",
    what="SIGSTOP the stage's process (psutil suspend), SIGCONT (resume) at the end",
    proof="psutil shows the process stopped",
    tolerates=Tolerates(for_s=60.0),
    tolerates_doc="the stopped stage's health; reconnect_count when the target is harvest",
)
