"""The layered contract: what a pipeline provides, and so what the harness can judge.

- level 0: a command that starts the pipeline and stops on SIGINT, and how to recognise its
  stage processes (`stages`, `stage_regex`). The harness judges what it measures itself:
  duration and exit code, every stage process alive at the stop (D1), resources and leaks
  (D8), kill -> new pid alive and the restart count (D9), stop order from observed exits and
  orphans (D10).
- level 1: adds the health URL (D2, and the health parts of D1 and D9).
- level 2: adds the evidence files (run manifest, sinks, reports, outbox: everything else).

A pipeline spec declares its `level` and the items it `claims`; each sub-check declares the
level it needs (pytest_soak/dod/spec.py `SubCheck.level`), and is judged only at that level
or above. An item the pipeline does not claim is `not_claimed`: never a pass, shown, and no
gate fails on it. The harness writes the contract into harness_observations.json, so a run
folder is judged (judge-only, `python -m pytest_soak.checks.judgement`) by the contract it ran
under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_soak.settings import SoakUsageError

if TYPE_CHECKING:
    from pytest_soak.faults import PlannedFault, Schedule

LEVELS = {0: "processes: a command, SIGINT, stage processes by command line",
          1: "level 0 and a health URL",
          2: "level 1 and the evidence files"}
EVIDENCE_LEVEL = max(LEVELS)
# what a fault's expectations read, and the level that provides it
EXPECTATION_LEVEL = {"alerts": EVIDENCE_LEVEL, "counters": EVIDENCE_LEVEL}


@dataclass(frozen=True)
class Contract:
    level: int = EVIDENCE_LEVEL
    claims: tuple[str, ...] | None = None     # None: every registered item
    shutdown_order: tuple[str, ...] | None = None   # None: the thresholds' default order
    stages: tuple[str, ...] = ()               # the stages the spec names (none: older runs)

    def claimed(self, item: str) -> bool:
        return self.claims is None or item in self.claims

    def to_json(self) -> dict[str, Any]:
        from pytest_soak.checks import ITEM_IDS
        return {"level": self.level, "claims": list(self.claims or ITEM_IDS),
                "shutdown_order": None if self.shutdown_order is None
                else list(self.shutdown_order), "stages": list(self.stages)}

    @classmethod
    def from_json(cls, doc: dict | None) -> Contract:
        """The contract a run folder records; none recorded (an older run): level 2, all."""
        if not isinstance(doc, dict):
            return cls()
        order = doc.get("shutdown_order")
        return cls(level=int(doc.get("level", EVIDENCE_LEVEL)),
                   claims=tuple(doc["claims"]) if doc.get("claims") is not None else None,
                   shutdown_order=tuple(order) if order else None,
                   stages=tuple(doc.get("stages") or ()))


def item_level(item: str) -> int:
    """The lowest level at which some sub-check of `item` can be judged."""
    from pytest_soak.checks import ITEMS
    return min(s.level for s in ITEMS[item].subchecks)


def parse_contract(doc: dict, source: Any, has_health: bool) -> Contract:
    """The spec file's `level`, `claims` and `shutdown_order`, each checked; a bad value is a
    SoakUsageError naming the key. Without `level` a spec is level 2 claiming every item
    (the reference pipeline's contract)."""
    from pytest_soak.checks import ITEM_IDS
    where = f"--soak-config {source}"
    level = doc.get("level", EVIDENCE_LEVEL)
    if isinstance(level, bool) or level not in LEVELS:
        raise SoakUsageError(f"{where}: level = {level!r}: choose one of "
                             + "; ".join(f"{n} ({what})" for n, what in LEVELS.items()))
    if level >= 1 and not has_health and "level" in doc:
        raise SoakUsageError(f"{where}: level {level} needs the health URL: give health.url or "
                             "health.discovery_file (or declare level 0)")
    claims = _claims(doc.get("claims", "all" if "level" not in doc else None), where, ITEM_IDS)
    for item in claims or ITEM_IDS:
        if item_level(item) > level:
            raise SoakUsageError(f"{where}: claims {item}, which needs level "
                                 f"{item_level(item)} ({LEVELS[item_level(item)]}); the spec "
                                 f"declares level {level}")
    order = doc.get("shutdown_order")
    stages = [str(s) for s in doc.get("stages") or []]
    if order is not None and (not isinstance(order, list) or not set(order) <= set(stages)
                              or not order):
        raise SoakUsageError(f"{where}: shutdown_order must list stages of 'stages' "
                             f"({stages}), got {order!r}")
    return Contract(level=level, claims=claims,
                    shutdown_order=None if order is None else tuple(str(s) for s in order),
                    stages=tuple(stages))


def _claims(raw: Any, where: str, known: tuple[str, ...]) -> tuple[str, ...] | None:
    if raw == "all":
        return None
    if not isinstance(raw, list) or not raw:
        raise SoakUsageError(f"{where}: claims must be a non-empty list of DoD items "
                             f"({', '.join(known)}) or 'all'; a spec that declares its level "
                             "must say what it claims")
    unknown = [str(c) for c in raw if str(c) not in known]
    if unknown:
        raise SoakUsageError(f"{where}: claims names unknown item(s) {unknown}; known: "
                             f"{', '.join(known)}")
    return tuple(dict.fromkeys(str(c) for c in raw))


def fault_level(fault: PlannedFault) -> int:
    """The level whose evidence shows what the fault expects (alerts, counters: level 2)."""
    expects = fault.expects.as_dict()
    return max([0] + [EXPECTATION_LEVEL[k] for k, names in expects.items()
                      if names and k in EXPECTATION_LEVEL])


def check_schedule(schedule: Schedule, contract: Contract) -> None:
    """A fault whose effect the contract's level cannot show is a usage error naming it."""
    for fault in schedule.faults:
        need = fault_level(fault)
        if need > contract.level:
            what = {k: v for k, v in fault.expects.as_dict().items() if v}
            raise SoakUsageError(
                f"fault {fault.id!r} ({fault.kind}) expects {what}, which only level {need} "
                f"({LEVELS[need]}) shows; the pipeline declares level {contract.level}: drop "
                "the fault from the schedule or override its expects")
