"""Fault windows on the wall clock and in event time, shared by D7 and "no event lost"."""

from __future__ import annotations

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import RunEvidence, tolerance_s


def wall_window(fault: dict, speed: float) -> tuple[int, float] | None:
    """A fault's window in wall ms. A feed fault runs in the feed's event time after the
    harness's call returns, so the window lasts at least its event-time span at this speed."""
    start = fault.get("started_ms")
    if start is None:
        return None
    end = fault.get("ended_ms") or start
    begin_ev, end_ev = fault.get("start_event_ms"), fault.get("end_event_ms")
    if begin_ev is not None and end_ev is not None:
        end = max(end, start + (end_ev - begin_ev) / speed)
    return start, end


def in_window(fault: dict, t_ms: int, speed: float, t: Thresholds) -> bool:
    """t_ms (wall or event time) lies in the fault's window plus its toleration (for_s)."""
    after_s = tolerance_s(fault, t.settle_s)
    wall = wall_window(fault, speed)
    if wall and wall[0] <= t_ms <= wall[1] + after_s / speed * 1000:
        return True
    start, end = fault.get("start_event_ms"), fault.get("end_event_ms")
    return start is not None and start <= t_ms <= (end or start) + after_s * 1000


def speed_of(run: RunEvidence) -> float:
    return float((run.observations or {}).get("speed") or 1)
