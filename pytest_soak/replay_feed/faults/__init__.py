"""Fault injection: what each control call does to the feed, with a start and an end.

One module per control in this package, found by name: `pause.py` answers
`POST /control/pause`. A module defines `handle(ctl, action, params) -> dict` and, if the
control has state worth showing, `state(ctl) -> dict` (merged into /control/state). Adding a
control is adding one module.

Every call returns (and appends to the history) a record of what it did and when:
{"id", "fault", "action": "start"|"end"|"inject", "params", "wall_ms", "market_ms", ...}.
Faults with a duration (`duration_ms`, wall time) end by themselves; the end is recorded too.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import pkgutil
from types import ModuleType

from pytest_soak.replay_feed.clock import wall_ms
from pytest_soak.replay_feed.engine import FeedEngine
from pytest_soak.replay_feed.faults.base import FaultError

NOT_HANDLERS = {"base"}


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in NOT_HANDLERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "handle", None)):
            found[info.name] = module
    return found


HANDLERS: dict[str, ModuleType] = _discover()


class FaultController:
    def __init__(self, engine: FeedEngine) -> None:
        self.engine = engine
        self.history: list[dict] = []
        self.rest_failures_left = 0
        self.refuse_until_wall_ms = 0
        self.last_burst: dict | None = None
        self._ids = itertools.count(1)
        from pytest_soak.replay_feed.faults.plan import FaultPlan
        self.plan = FaultPlan(self)       # faults applied at exact events (plan.py)
        engine.plan = self.plan

    def handle(self, fault: str, action: str, params: dict) -> dict:
        module = HANDLERS.get(fault)
        if module is None:
            raise FaultError(f"unknown control {fault!r}; known: {self.known()}", 404)
        if action not in ("start", "end"):
            raise FaultError(f"action must be start or end, not {action!r}")
        details = module.handle(self, action, params)
        record = {"id": next(self._ids), "fault": fault,
                  "action": details.pop("action", action), "params": params,
                  "wall_ms": wall_ms(), "market_ms": self.engine.market_ms(), **details}
        self.history.append(record)
        duration = params.get("duration_ms")
        if action == "start" and record["action"] == "start" and duration:
            end_params = {k: v for k, v in params.items() if k != "duration_ms"}
            asyncio.get_running_loop().call_later(
                float(duration) / 1000, self.handle, fault, "end", end_params)
        return record

    @staticmethod
    def known() -> list[str]:
        return sorted(HANDLERS)

    def state(self) -> dict:
        """What the controls with a state of their own report (e.g. the last burst)."""
        out: dict = {}
        for module in HANDLERS.values():
            reporter = getattr(module, "state", None)
            if reporter is not None:
                out.update(reporter(self))
        return out


__all__ = ["HANDLERS", "FaultController", "FaultError"]
