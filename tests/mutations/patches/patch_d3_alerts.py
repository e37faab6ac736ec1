"""D3 alert windows, for real: the report stage's alert engine (orchestrator.report.alerts)
patched inside the report process (and its finalizer), so the broken alerts are what the
pipeline really evaluated, logged, persisted and reported.

- d3_flap_low_consistency: the minute low_consistency first resolves, it fires again (firing,
  resolving, firing again around its window), once per run (the history, which the engine
  persists, says whether it did); it resolves again on the next quiet minute.
- d3_stray_data_drop: data_drop fires on the third closed minute, whatever harvest's queue
  did: a rule no fault of the schedule expects or tolerates.
Each logs `D3 PATCH ...` in logs/report.log, so a run shows the patch was armed.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def _flap(module: ModuleType) -> None:
    engine_cls, rule = module.AlertEngine, module.LOW_CONSISTENCY
    original = engine_cls.on_minute

    def on_minute(self: Any, minute: Any, export_failing: bool = False,
                  queue_dropped: int | None = None) -> list[dict]:
        events = original(self, minute, export_failing, queue_dropped)
        resolved = [e for e in events if e["rule"] == rule and e["event"] == "resolved"]
        if resolved and sum(r["rule"] == rule for r in self.history) == 1:
            state = self.states[rule]
            first = next(r for r in self.history if r["rule"] == rule)
            again = {**first, "state": "firing", "fired_at_ms": first["resolved_at_ms"],
                     "resolved_at_ms": None, "resolve_details": None}
            state.state, state.current, state.true_run = "firing", again, 1
            self.history.append(again)
            module.log.warning("D3 PATCH %s flapped: fired again at %s, the minute it "
                               "resolved", rule, again["fired_at_ms"])
            events.append({"event": "fired", **self.describe(again)})
        return events

    engine_cls.on_minute = on_minute


def _stray(module: ModuleType) -> None:
    engine_cls = module.AlertEngine
    original = engine_cls._data_drop

    def data_drop(self: Any, queue_dropped: int | None, minute_ms: int) -> tuple[bool, dict]:
        holds, details = original(self, queue_dropped, minute_ms)
        self.d3_minutes_seen = getattr(self, "d3_minutes_seen", 0) + 1
        fired_before = any(r["rule"] == module.DATA_DROP for r in self.history)
        if self.d3_minutes_seen == 3 and not fired_before:
            module.log.warning("D3 PATCH data_drop forced on minute %s", minute_ms)
            return True, {**details, "forced": True}
        return holds, details

    engine_cls._data_drop = data_drop


PATCHES = {
    "d3_flap_low_consistency": ("orchestrator.report.alerts", _flap),
    "d3_stray_data_drop": ("orchestrator.report.alerts", _stray),
}
