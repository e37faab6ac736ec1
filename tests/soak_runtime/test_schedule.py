"""The fault schedule: parsing, validation errors that name the key, seeded jitter."""

from __future__ import annotations

import pytest

from pytest_soak.faults import KINDS, check_fits, load_schedule, parse_schedule
from pytest_soak.settings import DEFAULT_SCHEDULE, SoakUsageError


def test_default_schedule_induces_every_condition_and_heals_by_52() -> None:
    schedule = load_schedule(DEFAULT_SCHEDULE)
    kinds = {f.kind for f in schedule.faults}
    assert kinds == set(KINDS)
    expects = {e for f in schedule.faults for e in f.expects}
    assert "D9" in expects
    assert len([e for e in expects if e.startswith("alert:")]) == 5
    heal = next(f for f in schedule.faults if f.kind == "heal")
    assert heal.start_s == 52 * 60
    assert all(f.end_s <= heal.start_s for f in schedule.faults)
    check_fits(schedule, minutes=60, settle_s=60)


def test_times_are_market_seconds_and_windows_have_ends() -> None:
    s = parse_schedule({"faults": [
        {"id": "p", "kind": "pause_feed", "at_min": 2, "until_s": 150},
        {"id": "k", "kind": "kill_stage", "target": "signal", "at_s": 30}]}, seed=1)
    assert [(f.id, f.start_s, f.end_s, f.instant) for f in s.faults] == [
        ("k", 30.0, 30.0, True), ("p", 120.0, 150.0, False)]


@pytest.mark.parametrize("fault, words", [
    ({"kind": "explode", "at_s": 1}, ["faults[0].kind", "explode"]),
    ({"kind": "pause_feed", "at_s": 10}, ["faults[0]", "until_s"]),
    ({"kind": "kill_stage", "at_s": 10}, ["faults[0].target", "kill_stage"]),
    ({"kind": "burst", "at_s": 10, "until_s": 5}, ["until_s", "after its start"]),
    ({"kind": "burst", "at_s": 10}, ["burst needs until_s"]),
    ({"kind": "drop_connections", "at_s": 1, "until_s": 9}, ["instant"]),
    ({"kind": "drop_connections"}, ["at_s or at_min"]),
    ({"kind": "drop_connections", "at_s": 1, "when": 3}, ["unknown key", "when"]),
    ({"kind": "drop_connections", "at_s": 1, "at_min": 3}, ["either at_s or at_min"]),
])
def test_bad_entries_name_the_key(fault: dict, words: list[str]) -> None:
    with pytest.raises(SoakUsageError) as err:
        parse_schedule({"faults": [fault]}, seed=1, source="bad.yaml")
    text = str(err.value)
    assert "bad.yaml" in text
    for word in words:
        assert word in text


def test_duplicate_ids_and_unreadable_files_are_errors(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(SoakUsageError, match="duplicate"):
        parse_schedule({"faults": [{"id": "x", "kind": "heal", "at_s": 1},
                                   {"id": "x", "kind": "heal", "at_s": 2}]}, seed=1)
    with pytest.raises(SoakUsageError, match="cannot read"):
        load_schedule(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults: [unclosed", encoding="utf-8")
    with pytest.raises(SoakUsageError, match="not valid YAML"):
        load_schedule(bad)


def test_a_fault_past_the_run_end_is_refused() -> None:
    schedule = load_schedule(DEFAULT_SCHEDULE)
    with pytest.raises(SoakUsageError, match=r"end after the run's 10 market minutes"):
        check_fits(schedule, minutes=10)


def test_jitter_is_reproducible_from_the_seed() -> None:
    doc = {"faults": [{"id": "k", "kind": "kill_stage", "target": "s", "at_s": 100,
                       "jitter_s": 50}]}
    a, b = parse_schedule(doc, seed=7), parse_schedule(doc, seed=7)
    others = {parse_schedule(doc, seed=s).faults[0].start_s for s in range(8, 16)}
    assert a.faults[0].start_s == b.faults[0].start_s
    assert 100 <= a.faults[0].start_s < 150
    assert len(others) > 1


def test_seed_comes_from_option_then_file_then_chance() -> None:
    assert parse_schedule({"seed": 5, "faults": []}).seed == 5
    assert parse_schedule({"seed": 5, "faults": []}, seed=9).seed == 9
    assert isinstance(parse_schedule({"faults": []}).seed, int)
