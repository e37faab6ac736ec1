"""One DoD item's spec: id, names, its named sub-checks, evidence files, plots, its check.

A check function returns an ItemResult; `DodItem.conform` holds it to the spec before anyone
reads it: every part's name is a declared sub-check, every required sub-check is there, a
part carries a subject only when its sub-check runs once per subject, and each part gets
its sub-check's limit (so dod.json can give its headroom). A mismatch is a harness bug:
`DodSpecError`, which `run_check` turns into `unknown` (never a pass) and a test catches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pytest_soak.verdict import LIMITS, ItemResult, Limit

if TYPE_CHECKING:  # the check's arguments; imported for types only
    from pytest_soak.checks.thresholds import Thresholds
    from pytest_soak.evidence_loader import RunEvidence

Check = Callable[["RunEvidence", "Thresholds"], ItemResult]


class DodSpecError(Exception):
    """A check's result does not match its item's spec (a harness bug)."""


@dataclass(frozen=True)
class SubCheck:
    """One named part of an item.

    limit: the passing side of the threshold (verdict.LIMITS), None when not numeric.
    per: what one part is about when the sub-check runs once per stage / sink / kill
      (`"stage"`); its parts then carry that subject. None: run once.
    when: None if the sub-check always runs; else the condition under which it does
      ("dual-sink runs"), and a result without it is fine.
    level: the contract level it needs (pytest_soak/contract.py): 0 what the harness measures
      of the processes, 1 the health URL, 2 the evidence files. Below it, it is not judged.
    """

    name: str
    limit: Limit | None = None
    per: str | None = None
    when: str | None = None
    level: int = 2

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit not in LIMITS:
            raise ValueError(f"sub-check {self.name!r}: limit {self.limit!r} is not one of "
                             f"{LIMITS}")


@dataclass(frozen=True)
class DodItem:
    """A DoD item. `name` is the short name tables use ("harvester SLO"), `title` the
    one-line promise, `description` how the harness judges it (Allure shows it). `evidence`
    lists run-dir relative files or globs a reviewer wants beside the verdict, `plots` the
    pytest_soak/plots.py files that illustrate it."""

    id: str
    name: str
    title: str
    description: str
    subchecks: tuple[SubCheck, ...]
    check: Check
    evidence: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.subchecks]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{self.id}: sub-check names must be given and unique: {names}")

    @property
    def number(self) -> int:
        return int(self.id[1:])

    def at_level(self, level: int, makers: list[tuple[str, Any]]) -> list[ItemResult]:
        """Run the part makers (sub-check name, callable returning a part, a list of parts or
        None) whose sub-check the contract `level` provides, in order."""
        parts: list[ItemResult] = []
        for name, make in makers:
            sub = self.subcheck(name)
            if sub is None:
                raise DodSpecError(f"{self.id} has no sub-check {name!r}")
            if sub.level > level:
                continue
            made = make()
            parts += [] if made is None else made if isinstance(made, list) else [made]
        return parts

    def subcheck(self, name: str) -> SubCheck | None:
        return next((s for s in self.subchecks if s.name == name), None)

    def conform(self, result: ItemResult, level: int = 2) -> ItemResult:
        """`result` with each part's limit set from the spec; DodSpecError if it strays (a
        part above the run's contract `level`, or a missing one at or below it)."""
        if result.item != self.id:
            raise DodSpecError(f"{self.id}'s check returned a result for {result.item!r}")
        if not result.parts:
            if result.status == "pass":
                raise DodSpecError(f"{self.id} passed without running any sub-check")
            return result  # an early verdict: the item's evidence was missing or cut short
        parts = [self._conform_part(p) for p in result.parts]
        missing = [s.name for s in self.subchecks if s.when is None and s.level <= level
                   and not any(p.item == s.name for p in parts)]
        above = sorted({p.item for p in parts if self.subcheck(p.item).level > level})
        if above:
            raise DodSpecError(f"{self.id}'s check judged {above} above the run's contract "
                               f"level {level}")
        if missing:
            raise DodSpecError(f"{self.id}'s check ran no part for declared sub-check(s) "
                               f"{missing}")
        return replace(result, parts=parts)

    def _conform_part(self, part: ItemResult) -> ItemResult:
        sub = self.subcheck(part.item)
        if sub is None:
            raise DodSpecError(f"{self.id}'s check returned part {part.item!r}, which its "
                               f"spec does not declare (declared: "
                               f"{[s.name for s in self.subchecks]})")
        if part.subject is not None and sub.per is None:
            raise DodSpecError(f"{self.id} part {part.item!r} has subject {part.subject!r} "
                               "but its sub-check runs once, not per subject")
        return replace(part, limit=sub.limit)

    def summary(self) -> dict[str, Any]:
        """The spec as plain data (for the docs table and the schema's descriptions)."""
        return {"id": self.id, "name": self.name, "title": self.title,
                "subchecks": [s.name for s in self.subchecks],
                "levels": {s.name: s.level for s in self.subchecks},
                "evidence": list(self.evidence), "plots": list(self.plots)}
