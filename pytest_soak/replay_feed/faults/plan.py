"""plan: faults handed to the feed ahead of their time, applied by the engine in event time.

`POST /control/plan {"faults": [{"id", "control", "params", "start_ms", "end_ms"}]}` adds
entries; times are *session ms*: event time since the feed's session start (the first event
is session ms 0), so a plan means the same market instants in every run of one seed. Before
it delivers an event the engine applies every planned start at or before the event's session
time and every planned end at or before it (ends first: a window [start, end) never holds
the event at its end). Each application is the control's own handler (the same record as a
control call) plus the exact event: its event time, session time, stream and id
(aggTrade `a`, depth `u`, bookTicker `u`), so a fault's start and end are known by event.
`POST /control/plan/end` cancels what has not started and ends what is active, now (only
the entries named in `ids`, if given).
"""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.faults.base import FaultError

# the control a plan may hold -> the params it needs in event time
IN_EVENT_TIME = {"pause": {"in_event_time": True}}
PLANNABLE = ("burst", "drop", "gap", "malformed", "pause", "regime", "stall")


def handle(ctl: Any, action: str, params: dict) -> dict:
    if action == "end":
        return {"action": "end", "cancelled": ctl.plan.cancel(params.get("ids"))}
    entries = params.get("faults")
    if not isinstance(entries, list) or not entries:
        raise FaultError("parameter 'faults' must be a non-empty list of planned faults")
    return {"action": "inject", "planned": [ctl.plan.add(e) for e in entries]}


def state(ctl: Any) -> dict:
    return {"plan": ctl.plan.as_json()}


class FaultPlan:
    """The planned faults, applied by the engine at exact events (`due`)."""

    def __init__(self, ctl: Any) -> None:
        self.ctl = ctl
        self.entries: list[dict] = []
        self.next_ms: float = float("inf")     # the earliest pending start or end: a cheap test

    def add(self, entry: Any) -> str:
        if not isinstance(entry, dict):
            raise FaultError("each planned fault must be an object")
        control, start, end = entry.get("control"), entry.get("start_ms"), entry.get("end_ms")
        if control not in PLANNABLE:
            raise FaultError(f"control {control!r} cannot be planned; plannable: {PLANNABLE}")
        if not isinstance(start, (int, float)) or (end is not None and (
                not isinstance(end, (int, float)) or end <= start)):
            raise FaultError("start_ms must be a number and end_ms null or after it")
        fid = str(entry.get("id") or f"{control}-{len(self.entries) + 1}")
        if any(e["id"] == fid for e in self.entries):
            raise FaultError(f"planned fault id {fid!r} is taken", 409)
        params = {**dict(entry.get("params") or {}), **IN_EVENT_TIME.get(control, {})}
        self.entries.append({"id": fid, "control": control, "params": params,
                             "start_ms": start, "end_ms": end, "phase": "planned",
                             "start": None, "end": None})
        self._next()
        return fid

    def due(self, session_ms: int, event: dict) -> None:
        """Apply what is due at this event (called before the event is delivered)."""
        if session_ms < self.next_ms:
            return
        for entry in self.entries:
            if entry["phase"] == "active" and entry["end_ms"] is not None and \
                    entry["end_ms"] <= session_ms:
                entry["end"] = self._apply(entry, "end", event)
                entry["phase"] = "ended"
        for entry in self.entries:
            if entry["phase"] == "planned" and entry["start_ms"] <= session_ms:
                entry["start"] = self._apply(entry, "start", event)
                instant = entry["end_ms"] is None or entry["start"].get("action") == "inject"
                entry["phase"] = "ended" if instant else "active"
        self._next()

    def cancel(self, ids: list[str] | None = None) -> list[str]:
        """Cancel what has not started; end what is active, at once (only `ids` if given)."""
        touched = []
        for entry in self.entries:
            if ids is not None and entry["id"] not in ids:
                continue
            if entry["phase"] == "planned":
                entry["phase"] = "cancelled"
            elif entry["phase"] == "active":
                entry["end"] = self._apply(entry, "end", None)
                entry["phase"] = "ended"
            else:
                continue
            touched.append(entry["id"])
        self._next()
        return touched

    def _apply(self, entry: dict, action: str, event: dict | None) -> dict:
        engine = self.ctl.engine
        counts = {"delivered": engine.delivered, "skipped": engine.skipped}
        try:
            record = self.ctl.handle(entry["control"], action, dict(entry["params"]))
        except FaultError as exc:          # e.g. a regime on a recording: recorded, not raised
            record = {"action": "failed", "error": str(exc)}
        return {**record, "event": event, "counts": counts}

    def _next(self) -> None:
        times = [e["start_ms"] for e in self.entries if e["phase"] == "planned"]
        times += [e["end_ms"] for e in self.entries
                  if e["phase"] == "active" and e["end_ms"] is not None]
        self.next_ms = min(times, default=float("inf"))

    def as_json(self) -> list[dict]:
        engine = self.ctl.engine
        out = []
        for entry in self.entries:
            start = (entry["start"] or {}).get("counts")
            upto = (entry["end"] or {}).get("counts") or {"delivered": engine.delivered,
                                                          "skipped": engine.skipped}
            instant = entry["end_ms"] is None
            window = None if start is None or instant else {k: upto[k] - start[k]
                                                            for k in start}
            out.append({**entry, "in_window": window})
        return out
