"""The DoD checks and their registry.

One module per theme; each declares its item's spec as a module-level `ITEM = DodItem(...)`
(pytest_soak/dod/spec.py) beside its check function `check_Dn(run: RunEvidence, t:
Thresholds) -> ItemResult`. The registry is found by walking this package, so adding an item
is adding a check module (and its tests): no list to extend. Ids must be D1..Dn without gap
or twin. `judge` runs every check; a check that raises, or whose result strays from its spec,
is reported as unknown with the exception (a harness bug must never read as a pass). An item
the run's contract does not claim is `not_claimed` (pytest_soak/contract.py).
"""

from __future__ import annotations

import importlib
import pkgutil

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import Check, DodItem, DodSpecError
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.verdict import ItemResult, not_claimed, unknown

# not walked: the judge reads the registry (importing it here would be circular)
NOT_CHECKS = ("judgement",)


def _discover() -> tuple[DodItem, ...]:
    found: dict[str, str] = {}
    items: list[DodItem] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in NOT_CHECKS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        item = getattr(module, "ITEM", None)
        if not isinstance(item, DodItem):
            continue
        if item.id in found:
            raise RuntimeError(f"DoD item {item.id} is declared twice: in {found[item.id]} "
                               f"and {module.__name__}")
        found[item.id] = module.__name__
        items.append(item)
    items.sort(key=lambda spec: spec.number)
    want = [f"D{n}" for n in range(1, len(items) + 1)]
    if [spec.id for spec in items] != want:
        raise RuntimeError(f"DoD items must be D1..D{len(items)}, found "
                           f"{[spec.id for spec in items]}")
    return tuple(items)


REGISTRY: tuple[DodItem, ...] = _discover()
ITEMS: dict[str, DodItem] = {spec.id: spec for spec in REGISTRY}
ITEM_IDS: tuple[str, ...] = tuple(ITEMS)
# the registry's check functions by id (a test may swap one in)
CHECKS: dict[str, Check] = {item_id: spec.check for item_id, spec in ITEMS.items()}


def run_check(item: str, run: RunEvidence, t: Thresholds) -> ItemResult:
    contract = run.contract
    if not contract.claimed(item):
        return not_claimed(item, f"the pipeline does not claim {item} (contract level "
                           f"{contract.level}, claims {', '.join(contract.claims or ())})")
    try:
        return ITEMS[item].conform(CHECKS[item](run, t), contract.level)
    except DodSpecError as exc:
        return unknown(item, f"the check strayed from its spec: {exc}")
    except Exception as exc:  # noqa: BLE001 -- a crashing check is a harness bug: unknown
        return unknown(item, f"the check itself crashed: {type(exc).__name__}: {exc}")


def judge(run: RunEvidence, t: Thresholds) -> dict[str, ItemResult]:
    return {item: run_check(item, run, t) for item in CHECKS}


__all__ = ["CHECKS", "ITEMS", "ITEM_IDS", "REGISTRY", "Thresholds", "judge", "run_check"]
