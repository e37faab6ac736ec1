"""One history of the run: what the harness did and saw, and what the pipeline claimed.

Every event goes, as it happens, to `<run_dir>/observer/history.jsonl`
(`{"t_ms", "market_s", "source": "harness"|"pipeline", "event", ...}`), so a crash or Ctrl+C
keeps the timeline up to that moment. The fault records and restarts also stay in memory (a few
dozen entries) to become the `faults` and `restarts` sections of harness_observations.json.
Verdicts are computed afterwards from this history and the evidence files, never from the
pipeline's own opinion of itself.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from pytest_soak.faults import PlannedFault


def now_ms() -> int:
    return int(time.time() * 1000)


class History:
    def __init__(self, run_dir: Path) -> None:
        path = run_dir / "observer" / "history.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path
        self._handle = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self.faults: dict[str, dict[str, Any]] = {}
        self.restarts: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.close()

    def record(self, event: str, market_s: float | None, source: str = "harness",
               **fields: Any) -> None:
        line = {"t_ms": now_ms(), "market_s": None if market_s is None else round(market_s, 2),
                "source": source, "event": event, **fields}
        with self._lock:
            if not self._handle.closed:
                self._handle.write(json.dumps(line, default=str) + "\n")
                self._handle.flush()

    def error(self, text: str, market_s: float | None = None) -> None:
        """A harness problem (not a pipeline failure); also kept for the observations."""
        self.errors.append(text)
        self.record("harness_error", market_s, error=text)

    # --- faults --------------------------------------------------------------------------------
    def plan(self, fault: PlannedFault) -> dict[str, Any]:
        rec = {"id": fault.id, "kind": fault.kind, "target": fault.target,
               "params": dict(fault.params), "planned_start_s": round(fault.start_s, 3),
               "planned_end_s": round(fault.end_s, 3), "started_ms": None, "ended_ms": None,
               "start_event_ms": None, "end_event_ms": None, "effect_confirmed": False,
               "effect": {}, "clock": fault.spec.clock, "applied_by": fault.spec.applied_by,
               "expects": fault.expects.as_dict(), "tolerates": fault.tolerates.as_dict(),
               "applied": None, "error": None}
        self.faults[fault.id] = rec
        return rec

    def fault_started(self, fault_id: str, market_s: float, event_ms: int | None,
                      effect: dict[str, Any], started_ms: int | None = None) -> None:
        """`started_ms`/`event_ms`: taken just before the action was applied."""
        rec = self.faults[fault_id]
        rec["started_ms"], rec["start_event_ms"] = started_ms or now_ms(), event_ms
        rec["effect"].update(effect)
        self.record("fault_start", market_s, fault_id=fault_id, kind=rec["kind"], effect=effect)

    def fault_confirmed(self, fault_id: str, market_s: float, proof: dict[str, Any]) -> None:
        rec = self.faults[fault_id]
        rec["effect_confirmed"] = True
        rec["effect"].update(proof)
        self.record("fault_effect_confirmed", market_s, fault_id=fault_id, proof=proof)

    def fault_ended(self, fault_id: str, market_s: float, event_ms: int | None,
                    effect: dict[str, Any] | None = None, ended_ms: int | None = None) -> None:
        rec = self.faults[fault_id]
        rec["ended_ms"], rec["end_event_ms"] = ended_ms or now_ms(), event_ms
        if effect:
            rec["effect"].update(effect)
        self.record("fault_end", market_s, fault_id=fault_id, effect=effect or {})

    def fault_applied(self, fault_id: str, applied: dict[str, Any]) -> None:
        """Where the feed applied a feed fault (fault_kinds.base.applied_of): the exact events
        and wall times of its start and end replace the harness's own estimates."""
        rec = self.faults[fault_id]
        rec["applied"] = applied
        start, end = applied.get("start"), applied.get("end")
        if start and start.get("event_ms") is not None:
            rec["start_event_ms"], rec["started_ms"] = start["event_ms"], start["wall_ms"]
            done = end if end and end.get("event_ms") is not None else (
                start if rec["planned_end_s"] == rec["planned_start_s"] else None)
            if done is not None:
                rec["end_event_ms"], rec["ended_ms"] = done["event_ms"], done["wall_ms"]
        self.record("fault_applied", None, fault_id=fault_id, applied=applied)

    def fault_failed(self, fault_id: str, market_s: float | None, text: str) -> None:
        rec = self.faults[fault_id]
        rec["error"] = text
        self.error(f"fault {fault_id} ({rec['kind']}): {text}", market_s)

    def restart(self, entry: dict[str, Any], market_s: float) -> None:
        self.restarts.append(entry)
        self.record("restart_observed", market_s, **entry)

    def fault_list(self) -> list[dict[str, Any]]:
        return sorted(self.faults.values(), key=lambda r: r["planned_start_s"])
