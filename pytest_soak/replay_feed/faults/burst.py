"""burst: `factor` x the event rate until the end: the feed packs `factor` x more of its
source into each second of event time (replay_feed/stamps.py); event time keeps its pace.

The feed keeps a record of its last burst (`ctl.last_burst`, shown by /control/state): the
factor and rate it applied, when, and how many events it delivered during the burst, so a
client can prove the burst happened from the feed's own account even after a burst shorter
than its polling interval.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.clock import wall_ms
from pytest_soak.replay_feed.faults.base import FaultError


def handle(ctl: Any, action: str, params: dict) -> dict:
    factor = float(params.get("factor", 10)) if action == "start" else 1.0
    if factor <= 0:
        raise FaultError("burst factor must be > 0")
    engine = ctl.engine
    engine.stamps.set_factor(factor)
    if action == "start":
        ctl.last_burst = {"factor": factor, "rate": _event_rate(engine),
                          "start_wall_ms": wall_ms(), "start_market_ms": engine.market_ms(),
                          "end_wall_ms": None, "end_market_ms": None,
                          "delivered_at_start": engine.delivered}
    elif ctl.last_burst and ctl.last_burst["end_wall_ms"] is None:
        ctl.last_burst.update(end_wall_ms=wall_ms(), end_market_ms=engine.market_ms(),
                              delivered_at_end=engine.delivered)
    return {"rate": _event_rate(engine)}


def _event_rate(engine: Any) -> float:
    """Source ms delivered per wall ms (the clock's speed x the burst's packing)."""
    return (engine.clock.speed or 0.0) * engine.stamps.factor


def state(ctl: Any) -> dict:
    """The last burst with `delivered`: events delivered during it (so far, if active)."""
    burst = ctl.last_burst
    if not burst:
        return {"last_burst": None}
    upto = burst.get("delivered_at_end", ctl.engine.delivered)
    shown = {k: v for k, v in burst.items() if not k.startswith("delivered_at")}
    return {"last_burst": {**shown, "active": burst["end_wall_ms"] is None,
                           "delivered": upto - burst["delivered_at_start"]}}
