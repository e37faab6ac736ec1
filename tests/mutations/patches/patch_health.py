"""Supervisors whose /health lies about pids (behavioural mutations of the "health pid" hole,
tests/mutations/behavioural_health.py). Each wraps `Supervisor._stage_health`, the one place
the reference supervisor builds a stage's entry of the health body; the stages themselves,
their restarts and every evidence file stay as they are, so only the harness's own psutil
view of the pids can tell."""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any


def _wrap(module: ModuleType, change: Any) -> None:
    original = module.Supervisor._stage_health

    def stage_health(self: Any, sp: Any) -> dict[str, Any]:
        doc = original(self, sp)
        change(self, sp, doc)
        return doc

    module.Supervisor._stage_health = stage_health


def _keep_old_pid(supervisor: Any, sp: Any, doc: dict[str, Any]) -> None:
    """Once a stage has died, report it healthy under its first pid forever (the supervisor
    still restarts it for real: the body just never names the new process)."""
    if sp.exits and sp.pids:
        doc.update(state="healthy", pid=sp.pids[0], ready=True)


def _supervisor_as_report(supervisor: Any, sp: Any, doc: dict[str, Any]) -> None:
    """After any stage died, name the supervisor's own pid as report's (a live process of the
    pipeline, not the report stage); report itself runs on untouched."""
    if sp.name == "report" and any(s.exits for s in supervisor.stages.values()):
        doc["pid"] = os.getpid()


PATCHES = {
    "health keeps a killed stage's old pid": (
        "orchestrator.supervisor", lambda module: _wrap(module, _keep_old_pid)),
    "health names the supervisor as report": (
        "orchestrator.supervisor", lambda module: _wrap(module, _supervisor_as_report)),
}
