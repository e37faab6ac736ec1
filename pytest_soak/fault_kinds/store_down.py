"""store_down: the time-series store refuses writes for the window (the harness stops its
own store process, keeping the port).

Proof: a probe write is refused. Expects export_failing (3+ failing minutes); the export
errors of its window (+ for_s) are excused by D4 because it expects that rule. Wall clock:
the store is down in wall time and the exporter's failures are wall-timed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FaultContext, FaultKind


@dataclass(frozen=True)
class StoreDown(FaultKind):
    def start(self, f: Any, ctx: FaultContext) -> dict[str, Any]:
        if ctx.store is None or not ctx.store.can_go_down:
            raise RuntimeError("the time-series store is not the harness's own (or none): "
                               "it cannot be taken down")
        return ctx.store.go_down()

    def confirm(self, f: Any, ctx: FaultContext, state: dict) -> dict | None:
        return {"write_refused": True} if ctx.store.refuses_writes() else None

    def end(self, f: Any, ctx: FaultContext) -> dict[str, Any]:
        return ctx.store.come_back()


KIND = StoreDown(
    name="store_down", windowed=True, clock="wall", applied_by="harness",
    what="stops the store process (same port)", proof="a probe write is refused",
    expects=Expects(alerts=("export_failing",)),
)
