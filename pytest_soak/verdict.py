"""Verdicts: one ItemResult per DoD item (pass | fail | unknown), and the run's dod.json.

Three verdicts, not two (SPEC §7): no data is never a pass. `unknown` fails the gate like
`fail` does, but says something different: the harness could not tell (no samples, a fault
whose effect was never confirmed, evidence it could not read), not "the pipeline is wrong".

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

from evidence.atomic import write_json_atomic
from evidence.schemas import validate

Status = Literal["pass", "fail", "unknown"]
DOD_ITEMS = tuple(f"D{n}" for n in range(1, 13))
DOD_FILE = "dod.json"
_RANK = {"pass": 0, "unknown": 1, "fail": 2}


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

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def line(self) -> str:
        """One line for the terminal summary: `D8 fail: <reason> [evidence files]`."""
        where = f" [{', '.join(self.evidence)}]" if self.evidence else ""
        return f"{self.item} {self.status}: {self.reason}{where}"

    def to_json(self) -> dict:
        doc = {"status": self.status, "value": _jsonable(self.value),
               "threshold": _jsonable(self.threshold),
               "evidence": ", ".join(self.evidence), "reason": self.reason}
        if self.parts:
            doc["parts"] = [{"name": p.item, "status": p.status, "value": _jsonable(p.value),
                             "threshold": _jsonable(p.threshold), "reason": p.reason}
                            for p in self.parts]
        return doc


def passed(item: str, reason: str, value: Any = None, threshold: Any = None,
           evidence: list[str] | None = None) -> ItemResult:
    return ItemResult(item, "pass", value, threshold, list(evidence or []), reason)


def failed(item: str, reason: str, value: Any = None, threshold: Any = None,
           evidence: list[str] | None = None) -> ItemResult:
    return ItemResult(item, "fail", value, threshold, list(evidence or []), reason)


def unknown(item: str, reason: str, value: Any = None, threshold: Any = None,
            evidence: list[str] | None = None) -> ItemResult:
    return ItemResult(item, "unknown", value, threshold, list(evidence or []), reason)


def combine(item: str, parts: list[ItemResult]) -> ItemResult:
    """An item made of sub-checks: its status is the worst part's (fail > unknown > pass).

    The reason lists every part that did not pass, so one line says everything wrong.
    """
    if not parts:
        return unknown(item, "no sub-check ran")
    worst = max(parts, key=lambda p: _RANK[p.status])
    evidence = sorted({e for p in parts for e in p.evidence})
    if worst.status == "pass":
        reason = "; ".join(p.reason for p in parts)
    else:
        reason = "; ".join(f"{p.item}: {p.reason}" for p in parts if p.status != "pass")
    values = {p.item: p.value for p in parts}
    thresholds = {p.item: p.threshold for p in parts if p.threshold is not None}
    return ItemResult(item, worst.status, values, thresholds or None, evidence, reason,
                      parts=list(parts))


def overall(items: dict[str, ItemResult], interrupted: bool) -> str:
    """dod.json's verdict: interrupted wins; otherwise pass only if every item passed."""
    if interrupted:
        return "interrupted"
    complete = all(i in items for i in DOD_ITEMS)
    return "pass" if complete and all(r.ok for r in items.values()) else "fail"


def failure_kind(items: dict[str, ItemResult], interrupted: bool,
                 harness_errors: list[str]) -> str | None:
    if interrupted:
        return "interrupted"
    if any(r.status == "fail" for r in items.values()):
        return "pipeline"
    if overall(items, interrupted) == "pass":
        return None   # harness_errors that cost no verdict are listed, not a failure
    return "harness"  # nothing failed: something is unknown or missing


def build_dod(run_id: str, items: dict[str, ItemResult], interrupted: bool = False,
              harness_errors: list[str] | None = None, mode: str | None = None,
              sink: str | None = None) -> dict:
    errors = list(harness_errors or [])
    return {
        "schema_version": 1,
        "run_id": run_id,
        "verdict": overall(items, interrupted),
        "failure_kind": failure_kind(items, interrupted, errors),
        "mode": mode,
        "sink": sink,
        "items": {name: items[name].to_json() for name in sorted(items, key=_item_order)},
        "harness_errors": errors,
    }


def write_dod(run_dir: Path | str, doc: dict) -> Path:
    """Validate against schemas/dod.schema.json, then write `<run_dir>/dod.json` atomically."""
    validate(doc, "dod")
    path = Path(run_dir) / DOD_FILE
    write_json_atomic(path, doc)
    return path


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
