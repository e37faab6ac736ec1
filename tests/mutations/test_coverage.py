"""Generated from the DoD registry: every registered sub-check has a mutation that fails it,
and the catalogue is as large and as behavioural as issue 12 requires."""

from __future__ import annotations

import pytest

from pytest_soak.checks import REGISTRY

from .catalogue import HOLES, all_groups, all_mutations

SUBCHECKS = [(item.id, sub.name) for item in REGISTRY for sub in item.subchecks]
MIN_MUTATIONS, MIN_BEHAVIOURAL = 30, 10


@pytest.mark.parametrize(("item", "subcheck"), SUBCHECKS,
                         ids=[f"{i}:{s}" for i, s in SUBCHECKS])
def test_every_registered_subcheck_has_a_mutation_that_fails_it(item: str, subcheck: str
                                                                ) -> None:
    failing = [m.name for m in all_mutations() if (item, subcheck) in m.fails]
    assert failing, f"no mutation in tests/mutations fails {item} sub-check {subcheck!r}"


def test_every_named_subcheck_is_registered() -> None:
    for mutation in all_mutations():
        for pair in mutation.fails:
            assert pair in SUBCHECKS, f"{mutation.name}: {pair} is not a registered sub-check"


def test_the_catalogue_is_large_and_behavioural_enough() -> None:
    """Behavioural counts only mutations whose pipeline behaves broken while it runs (a
    patched or misconfigured stage, supervisor or feed), not evidence damaged after exit."""
    groups = all_groups()
    found = all_mutations()
    behavioural = [m for m in found if m.kind == "behavioural" and groups[m.group].live]
    assert len(found) >= MIN_MUTATIONS, len(found)
    assert len(behavioural) >= MIN_BEHAVIOURAL, [m.name for m in behavioural]


@pytest.mark.parametrize("hole", HOLES)
def test_every_hole_is_caught_in_more_than_one_disguise(hole: str) -> None:
    """Caught when reported honestly wrong, and when reported as the declared value (or,
    for evidence that can go missing, when absent): two disguises at least."""
    disguises = {m.disguise for m in all_mutations() if m.hole == hole}
    assert len(disguises) >= 2, f"hole {hole!r} is caught only as {sorted(disguises)}"
