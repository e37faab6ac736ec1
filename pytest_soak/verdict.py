"""The verdict vocabulary, defined once: one ItemResult per DoD item, and the run's dod.json.

STATUSES are the only words an item or a sub-check can end in (SPEC §7):
- `pass`: measured, and on the passing side of its threshold;
- `fail`: measured, and wrong -- the pipeline's evidence says so;
- `unknown`: no data is never a pass. It fails the gate like `fail` does, but says something
  different: the harness could not tell (no samples, a fault whose effect was never
  confirmed, evidence it could not read), not "the pipeline is wrong";
- `not_claimed`: the pipeline's contract does not claim this item (pytest_soak/contract.py).
  Never a pass, and never a failure: the run's verdict is `pass` when every claimed item
  passed; the item's D-test is skipped with the reason, and dod.json, the terminal summary
  and Allure show it.

LIMITS say on which side of its threshold a sub-check passes (declared per sub-check in the
item's spec, pytest_soak/dod/spec.py): `max` (value at most / under the threshold), `min`
(at least), `eq` (equal), None (not a numeric comparison). Each sub-check in dod.json carries
its value, threshold, limit and headroom: how far the value is from the threshold in the
passing direction (>= 0 on the passing side; a strict limit such as `RSS < 600` needs > 0),
numeric where value and threshold are numbers (per key where both are objects of numbers),
else null.

dod.json separates the two ways a gate fails, so CI can tell them apart:
- "failure_kind": "pipeline" -- at least one item failed on the pipeline's evidence;
- "failure_kind": "harness"  -- no item failed, but some are unknown (no data: a fault the
  harness could not apply, a sidecar that died, evidence it could not read): fix the
  harness or the set-up; its own errors are listed in "harness_errors";
- "failure_kind": "interrupted" -- the run was cut short (Ctrl+C, timeout);
- "failure_kind": null -- every item passed.
pytest's own exit code stays the usual one (1 when a D-test failed); read dod.json for which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_soak_evidence.schemas import write_validated

Status = Literal["pass", "fail", "unknown", "not_claimed"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "unknown", "not_claimed")
Limit = Literal["max", "min", "eq"]
LIMITS: tuple[Limit, ...] = ("max", "min", "eq")
# the run's verdict and failure kinds, as dod.json spells them
VERDICTS = ("pass", "fail", "interrupted")
FAILURE_KINDS = ("pipeline", "harness", "interrupted", None)
DOD_FILE = "dod.json"
# combine's worst part: a fail outranks an unknown, which outranks a not_claimed
_RANK = {"pass": 0, "not_claimed": 1, "unknown": 2, "fail": 3}


@dataclass
class ItemResult:
    """The verdict on one DoD item (or one part of it): what was measured against what."""

    item: str
    status: Status
    value: Any = None
    threshold: Any = None
    evidence: list[str] = field(default_factory=list)
    reason: str = ""
    parts: list[ItemResult] = field(default_factory=list)
    # a part of a sub-check run once per stage / sink / kill: what this one is about
    subject: str | None = None
    # the passing side of the threshold, from the sub-check's spec (set when conformed)
    limit: Limit | None = None

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    @property
    def label(self) -> str:
        """The part's name for people: `leak broker`, `restart signal (kill-signal)`."""
        return self.item if self.subject is None else f"{self.item} {self.subject}"

    @property
    def headroom(self) -> Any:
        return headroom(self.value, self.threshold, self.limit)

    def line(self) -> str:
        """One line for the terminal summary: `D8 fail: <reason> [evidence files]`."""
        where = f" [{', '.join(self.evidence)}]" if self.evidence else ""
        return f"{self.item} {self.status}: {self.reason}{where}"

    def to_json(self) -> dict:
        doc = {"status": self.status, "value": _jsonable(self.value),
               "threshold": _jsonable(self.threshold),
               "evidence": ", ".join(self.evidence), "reason": self.reason}
        if self.parts:
            doc["parts"] = [p.part_json() for p in self.parts]
        return doc

    def part_json(self) -> dict:
        return {"name": self.item, "subject": self.subject, "status": self.status,
                "value": _jsonable(self.value), "threshold": _jsonable(self.threshold),
                "limit": self.limit, "headroom": _jsonable(self.headroom),
                "reason": self.reason}


def headroom(value: Any, threshold: Any, limit: Limit | None) -> Any:
    """How far `value` is from `threshold` on the passing side (see the module docstring)."""
    if limit is None:
        return None
    if isinstance(value, dict) and isinstance(threshold, dict):
        keys = [k for k in value if k in threshold]
        found = {k: headroom(value[k], threshold[k], limit) for k in keys}
        return found if any(v is not None for v in found.values()) else None
    if not (_number(value) and _number(threshold)):
        return None
    gap = {"max": threshold - value, "min": value - threshold,
           "eq": -abs(value - threshold)}[limit]
    return round(gap, 6) + 0   # + 0: an exact match reads 0, never -0.0


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def passed(item: str, reason: str, value: Any = None, threshold: Any = None,
           evidence: list[str] | None = None, subject: str | None = None) -> ItemResult:
    return ItemResult(item, "pass", value, threshold, list(evidence or []), reason,
                      subject=subject)


def failed(item: str, reason: str, value: Any = None, threshold: Any = None,
           evidence: list[str] | None = None, subject: str | None = None) -> ItemResult:
    return ItemResult(item, "fail", value, threshold, list(evidence or []), reason,
                      subject=subject)


def unknown(item: str, reason: str, value: Any = None, threshold: Any = None,
            evidence: list[str] | None = None, subject: str | None = None) -> ItemResult:
    return ItemResult(item, "unknown", value, threshold, list(evidence or []), reason,
                      subject=subject)


def not_claimed(item: str, reason: str) -> ItemResult:
    """An item the pipeline declares it does not provide (SPEC §1: never a pass)."""
    return ItemResult(item, "not_claimed", reason=reason)


def combine(item: str, parts: list[ItemResult]) -> ItemResult:
    """An item made of sub-checks: its status is the worst part's (fail > unknown >
    not_claimed > pass). Part names must be the sub-check names the item's spec declares
    (pytest_soak/dod/spec.py checks that when the check returns).

    The reason lists every part that did not pass, so one line says everything wrong.
    """
    if not parts:
        return unknown(item, "no sub-check ran")
    worst = max(parts, key=lambda p: _RANK[p.status])
    evidence = sorted({e for p in parts for e in p.evidence})
    if worst.status == "pass":
        reason = "; ".join(p.reason for p in parts)
    else:
        reason = "; ".join(f"{p.label}: {p.reason}" for p in parts if p.status != "pass")
    values = {p.label: p.value for p in parts}
    thresholds = {p.label: p.threshold for p in parts if p.threshold is not None}
    return ItemResult(item, worst.status, values, thresholds or None, evidence, reason,
                      parts=list(parts))


def registered_ids() -> tuple[str, ...]:
    """The DoD items a complete verdict holds: the registry's (imported here, not at the top,
    because the registry imports the checks, which import this module)."""
    from pytest_soak.checks import ITEM_IDS
    return ITEM_IDS


def overall(items: dict[str, ItemResult], interrupted: bool) -> str:
    """dod.json's verdict: interrupted wins; otherwise pass only if every registered item is
    there and every claimed one passed (a missing or unknown item is never a pass; an
    unclaimed one is no failure), and the pipeline claims at least one."""
    if interrupted:
        return "interrupted"
    complete = all(i in items for i in registered_ids())
    claimed = [r for r in items.values() if r.status != "not_claimed"]
    return "pass" if complete and claimed and all(r.ok for r in claimed) else "fail"


def failure_kind(items: dict[str, ItemResult], interrupted: bool,
                 harness_errors: list[str]) -> str | None:
    """Why the verdict is not a pass, most serious first: interrupted, pipeline (an item
    failed), harness (unknown or missing)."""
    if interrupted:
        return "interrupted"
    statuses = {r.status for r in items.values()}
    if "fail" in statuses:
        return "pipeline"
    if overall(items, interrupted) == "pass":
        return None   # harness_errors that cost no verdict are listed, not a failure
    return "harness"


def build_dod(run_id: str, items: dict[str, ItemResult], interrupted: bool = False,
              harness_errors: list[str] | None = None, mode: str | None = None,
              sink: str | None = None, contract: dict | None = None) -> dict:
    errors = list(harness_errors or [])
    return {
        "schema_version": 1,
        "run_id": run_id,
        "verdict": overall(items, interrupted),
        "failure_kind": failure_kind(items, interrupted, errors),
        "mode": mode,
        "sink": sink,
        "contract": None if contract is None else {"level": contract["level"],
                                                   "claims": list(contract["claims"])},
        "items": {name: items[name].to_json() for name in sorted(items, key=_item_order)},
        "harness_errors": errors,
    }


def write_dod(run_dir: Path | str, doc: dict) -> Path:
    """Validate against schemas/dod.schema.json, then write `<run_dir>/dod.json` atomically."""
    return write_validated(Path(run_dir) / DOD_FILE, doc, "dod")


def _item_order(name: str) -> int:
    return int(name[1:]) if name[1:].isdigit() else 99


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return str(value)
