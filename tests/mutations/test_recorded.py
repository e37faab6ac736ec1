"""Recorded mutations: each edits a copy of the good run folder as a broken pipeline would
have written it; the sub-checks it names must fail (tests/mutations/catalogue.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_soak.checks import Thresholds, judge
from pytest_soak.evidence_loader import RunEvidence

from .catalogue import Mutation, all_mutations, assert_fails

RECORDED = [m for m in all_mutations() if m.kind == "recorded"]


def judged(run_dir: Path) -> dict:
    results = judge(RunEvidence.load(run_dir, fresh=True), Thresholds())
    return {item: result.to_json() for item, result in results.items()}


@pytest.mark.parametrize("mutation", RECORDED, ids=[m.name for m in RECORDED])
def test_a_recorded_mutation_fails_its_named_subchecks(good_run_dir: Path,
                                                      mutation: Mutation) -> None:
    mutation.apply(good_run_dir)
    assert_fails(mutation, judged(good_run_dir))


def test_the_unmutated_run_passes_every_subcheck_a_mutation_names(good_run_dir: Path) -> None:
    items = judged(good_run_dir)
    for mutation in all_mutations():
        for item, subcheck in mutation.fails:
            statuses = {p["status"] for p in items[item].get("parts", [])
                        if p["name"] == subcheck}
            assert statuses <= {"pass"}, (mutation.name, item, subcheck, statuses)
