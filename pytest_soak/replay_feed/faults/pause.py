"""pause: all streams, or one (`stream`): events are skipped (paced) / held (max, all streams).

A paced feed's clock keeps running while paused, like an exchange outage: the events of the
pause are skipped, never delivered late. So are they in event time (`in_event_time`, a
planned pause, plan.py), whatever the speed: max mode then skips the window's events too.
"""

from __future__ import annotations

from typing import Any


def handle(ctl: Any, action: str, params: dict) -> dict:
    stream = params.get("stream")
    engine = ctl.engine
    if stream:
        paused = engine.paused_streams
        (paused.add if action == "start" else paused.discard)(stream)
    elif engine.clock.paced or params.get("in_event_time"):
        engine.paused_all = action == "start"
    elif action == "start":
        engine.resumed.clear()          # max mode holds events instead of skipping them
    else:
        engine.resumed.set()
    return {"skipped_so_far": engine.skipped}
