"""The fault kinds: one module per kind in this package, found by name.

`kill_stage.py` defines `KIND`, the `FaultKind` named "kill_stage" (see `base` for what a
kind holds). Adding a kind is adding one module here (plus, for a feed fault, its handler in
pytest_soak/replay_feed/faults/) and its test; the schedule parser, the runner, the checks
(through the recorded expects/tolerates), the observations schema and the docs table all
follow from it (tests/soak_runtime/test_fault_kinds.py holds them to it).
"""

from __future__ import annotations

import importlib
import pkgutil

from pytest_soak.fault_kinds.base import (
    Expects,
    FaultContext,
    FaultKind,
    FeedFault,
    Param,
    Tolerates,
)

NOT_KINDS = {"base", "vocabulary"}


def _discover() -> dict[str, FaultKind]:
    found: dict[str, FaultKind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in NOT_KINDS or info.name.startswith("_"):
            continue
        kind = getattr(importlib.import_module(f"{__name__}.{info.name}"), "KIND", None)
        if not isinstance(kind, FaultKind) or kind.name != info.name:
            raise ImportError(f"pytest_soak/fault_kinds/{info.name}.py must define KIND, a "
                              f"FaultKind named {info.name!r}")
        found[kind.name] = kind
    return found


KINDS: dict[str, FaultKind] = _discover()


def docs_table() -> str:
    """The fault-kind table of docs/soak.md, from the registry."""
    def names(*groups: tuple[str, ...]) -> str:
        return ", ".join(n for g in groups for n in g) or "—"

    rows = ["| kind | window | target | clock | applied by | what the harness does | proof of "
            "effect (else the fault is *unconfirmed*) | expects | tolerates |",
            "|---|---|---|---|---|---|---|---|---|"]
    for kind in KINDS.values():
        target = {"required": kind.target_is, "optional": f"optional {kind.target_is}"}.get(
            kind.target or "", "—")
        exp, tol = kind.expects, kind.tolerates
        health = tuple(f"{h} health" for h in tol.health)
        after = "" if tol.for_s is None else f" (for_s {tol.for_s:g})"
        rows.append(f"| {kind.name} | {'yes' if kind.windowed else 'instant'} | {target} | "
                    f"{kind.clock} | {kind.applied_by} | {kind.what} | {kind.proof} | "
                    f"{kind.expects_doc or names(exp.alerts, exp.counters, exp.items)} | "
                    f"{kind.tolerates_doc or names(tol.alerts, tol.counters, health)}{after} |")
    return "\n".join(rows) + "\n"


__all__ = ["KINDS", "Expects", "FaultContext", "FaultKind", "FeedFault", "Param", "Tolerates",
           "docs_table"]
