"""Behavioural mutations: broken pipelines run for real (tests/mutations/soaks.py), one short
soak per group; every mutation's named sub-checks must fail in its group's dod.json."""

from __future__ import annotations

import pytest

from .catalogue import Mutation, all_groups, all_mutations, assert_fails
from .soaks import Group, GroupRun, run_group

pytestmark = pytest.mark.slow

GROUPS: dict[str, Group] = all_groups()
BEHAVIOURAL = [m for m in all_mutations() if m.kind == "behavioural"]
_RUNS: dict[str, GroupRun] = {}


@pytest.fixture
def group_run(tmp_path_factory: pytest.TempPathFactory):
    def get(name: str) -> GroupRun:
        if name not in _RUNS:
            _RUNS[name] = run_group(GROUPS[name], tmp_path_factory.mktemp(name.replace(" ", "_")))
        return _RUNS[name]
    return get


def test_every_mutation_names_a_declared_group_with_a_control() -> None:
    for mutation in BEHAVIOURAL:
        assert mutation.group in GROUPS, (mutation.name, mutation.group)
        assert GROUPS[mutation.group].control in GROUPS, (mutation.name, mutation.group)


@pytest.mark.parametrize("mutation", BEHAVIOURAL, ids=[m.name for m in BEHAVIOURAL])
def test_a_behavioural_mutation_fails_its_named_subchecks(group_run, mutation: Mutation
                                                         ) -> None:
    run = group_run(mutation.group)
    assert run.code == 1, run.output[-3000:]
    assert_fails(mutation, run.dod["items"])


@pytest.mark.parametrize("mutation", BEHAVIOURAL, ids=[m.name for m in BEHAVIOURAL])
def test_the_control_run_passes_what_the_mutation_fails(group_run, mutation: Mutation) -> None:
    """The same soak with nothing broken (the group's control) passes every sub-check the
    mutation fails: the failure is the breakage's, not the short soak's."""
    control = group_run(GROUPS[mutation.group].control)
    for item, subcheck in mutation.fails:
        statuses = {p["status"] for p in control.dod["items"][item].get("parts", [])
                    if p["name"] == subcheck}
        assert statuses == {"pass"}, (mutation.name, item, subcheck, statuses,
                                      control.dod["items"][item].get("reason"))
