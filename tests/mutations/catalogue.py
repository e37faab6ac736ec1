"""The catalogue of broken pipelines: every DoD sub-check is shown failing on one.

A `Mutation` names one way a pipeline can be broken and the DoD sub-check(s) that must then
fail, by name. Two kinds:

- `recorded`: `apply(run_dir)` edits a copy of the good recorded run folder
  (tests/soak_checks/factory.py) the way a broken pipeline would have written it; judged at
  once (tests/mutations/test_recorded.py).
- `behavioural`: a stage, the supervisor, the feed or the store is patched, wrapped or
  misconfigured and run for real in a short soak (`group` names the soak it shares with
  other mutations touching other sub-checks; tests/mutations/test_behavioural.py). These
  prove that the harness *measures*: the broken behaviour happens, whatever the pipeline
  writes about it.

`disguise` says how the broken figure is reported: `wrong` (the pipeline reports what it did,
honestly wrong), `declared` (it reports the declared / expected value while doing something
else: only the harness's own measurement can catch it), or `absent` (the evidence is missing
or unreadable: must be unknown or fail, never pass).

Mutations are declared as `MUTATIONS = [...]` in the modules `recorded_*.py` and
`behavioural_*.py` of this package; `all_mutations()` walks them. The coverage test
(tests/mutations/test_coverage.py) is generated from the DoD registry: every registered
sub-check must have a mutation that fails it, and every hole of issue 12 (`HOLES`) must be
covered in both the `wrong` and the `declared` disguise.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["recorded", "behavioural"]
Disguise = Literal["wrong", "declared", "absent"]

# the false passes issue 12 names; each must be caught in more than one disguise
HOLES = (
    "D3 alert windows",      # a rule firing in an unrelated window / twice / unresolved
    "D9 backoff",            # delays off the declared sequence, reset too early
    "health pid",            # /health naming a pid that is not the live stage process
    "D2 windows",            # a fault excusing stages it does not tolerate
    "D12 decisions",         # an eligible signal without exactly one terminal decision
    "D12 ready/",            # a torn or changing file in outbox/ready/
    "D4 store count",        # export_count / error_count not what the store and failures say
    "D7 feed counts",        # harvest's counters against the feed's own
    "no event lost",         # aggTrade ids delivered by the feed, lost by harvest
    "D10 unreadable",        # missing status files / a sweep that raised
    "D11 time zone",         # reports in a zone other than the REPORT_TZ the harness set
)


@dataclass(frozen=True)
class Mutation:
    """One broken pipeline and the sub-checks it must fail.

    fails: (item, sub-check name) pairs, e.g. (("D3", "no stray alerts"),); each must come
      out `fail` (or `unknown` when `unknown_ok` -- for evidence that is absent).
    apply: recorded mutations only: edits the run folder in place.
    group: behavioural mutations only: the short soak (behavioural_*.py GROUPS) that runs it.
    """

    name: str
    kind: Kind
    fails: tuple[tuple[str, str], ...]
    disguise: Disguise = "wrong"
    hole: str | None = None
    apply: Callable[[Path], None] | None = None
    group: str | None = None
    unknown_ok: bool = False

    def __post_init__(self) -> None:
        if not self.fails:
            raise ValueError(f"mutation {self.name!r} names no sub-check it fails")
        if self.hole is not None and self.hole not in HOLES:
            raise ValueError(f"mutation {self.name!r}: unknown hole {self.hole!r}")
        if (self.kind == "recorded") != (self.apply is not None):
            raise ValueError(f"mutation {self.name!r}: a recorded mutation has `apply`, "
                             "a behavioural one has not")
        if (self.kind == "behavioural") != (self.group is not None):
            raise ValueError(f"mutation {self.name!r}: a behavioural mutation names its group")


def _modules(prefix: str) -> list:
    here = Path(__file__).parent
    return [importlib.import_module(f"{__package__}.{info.name}")
            for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name)
            if info.name.startswith(prefix)]


def all_mutations() -> list[Mutation]:
    found: list[Mutation] = []
    for module in _modules("recorded_") + _modules("behavioural_"):
        found.extend(getattr(module, "MUTATIONS", []))
    names = [m.name for m in found]
    twins = sorted({n for n in names if names.count(n) > 1})
    if twins:
        raise ValueError(f"mutation names must be unique: {twins}")
    return found


def all_groups() -> dict:
    """The behavioural groups (tests/mutations/soaks.py Group) by name, from the modules
    `behavioural_*.py` that declare them beside their mutations."""
    return {g.name: g for module in _modules("behavioural_") for g in getattr(module, "GROUPS", [])}


def part_statuses(dod_item: dict, subcheck: str) -> list[str]:
    """The statuses of every part of `subcheck` (all subjects) in a dod.json item."""
    return [p["status"] for p in dod_item.get("parts", []) if p["name"] == subcheck]


def assert_fails(mutation: Mutation, dod_items: dict) -> None:
    """Every sub-check the mutation names failed (some subject of it), and its item too."""
    allowed = {"fail", "unknown"} if mutation.unknown_ok else {"fail"}
    for item, subcheck in mutation.fails:
        entry = dod_items[item]
        statuses = part_statuses(entry, subcheck)
        assert entry["status"] in allowed, (mutation.name, item, entry.get("reason"))
        assert set(statuses) & allowed, (
            f"{mutation.name}: {item} sub-check {subcheck!r} did not fail: {statuses or 'absent'}"
            f"; {item}: {entry.get('reason')}")
