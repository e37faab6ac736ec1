"""heal: end every fault still active (the schedule's last step before the settle)."""

from __future__ import annotations

from pytest_soak.fault_kinds.base import FaultKind

KIND = FaultKind(
    name="heal", windowed=False, clock="market", applied_by="harness", heals_all=True,
    what="ends every fault still active", proof="—",
)
