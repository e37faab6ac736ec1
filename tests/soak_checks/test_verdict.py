"""dod.json: the verdict, the failure kind, the schema; combine; the Theil-Sen slope."""

from __future__ import annotations

import json

import pytest

from pytest_soak.checks import ITEM_IDS as DOD_ITEMS
from pytest_soak.checks.leaks import leak_figures, theil_sen_slope
from pytest_soak.verdict import (
    build_dod,
    combine,
    failed,
    headroom,
    not_claimed,
    passed,
    unknown,
    write_dod,
)
from pytest_soak_evidence.schemas import SchemaViolation


def all_pass() -> dict:
    return {i: passed(i, "fine", 1, 2, ["x.json"]) for i in DOD_ITEMS}


def test_all_pass_gives_pass_and_a_valid_dod_json(tmp_path) -> None:
    path = write_dod(tmp_path, build_dod("r1", all_pass(), mode="replay", sink="dual"))
    doc = json.loads(path.read_text())
    assert doc["verdict"] == "pass" and doc["failure_kind"] is None
    assert list(doc["items"]) == list(DOD_ITEMS)
    assert doc["items"]["D1"] == {"status": "pass", "value": 1, "threshold": 2,
                                  "evidence": "x.json", "reason": "fine"}


def test_one_unknown_fails_the_gate_as_a_harness_problem() -> None:
    items = all_pass() | {"D4": unknown("D4", "no readback")}
    doc = build_dod("r1", items)
    assert (doc["verdict"], doc["failure_kind"]) == ("fail", "harness")


def test_a_fail_is_the_pipelines_and_interrupted_wins() -> None:
    items = all_pass() | {"D8": failed("D8", "too big", 700, 600)}
    assert build_dod("r1", items)["failure_kind"] == "pipeline"
    assert build_dod("r1", items, interrupted=True)["verdict"] == "interrupted"


def test_a_missing_item_is_never_a_pass() -> None:
    items = all_pass()
    del items["D12"]
    assert build_dod("r1", items)["verdict"] == "fail"


def test_dod_json_is_validated_before_it_is_written(tmp_path) -> None:
    doc = build_dod("r1", all_pass())
    doc["verdict"] = "maybe"
    with pytest.raises(SchemaViolation, match=r"\$\.verdict"):
        write_dod(tmp_path, doc)
    assert not (tmp_path / "dod.json").exists()


def test_combine_takes_the_worst_part_and_names_it() -> None:
    out = combine("D9", [passed("a", "ok"), unknown("b", "no data"), failed("c", "broken")])
    assert out.status == "fail" and "c: broken" in out.reason and "b: no data" in out.reason
    assert combine("D9", [passed("a", "ok"), unknown("b", "no data")]).status == "unknown"
    assert combine("D9", []).status == "unknown"


def test_theil_sen_ignores_a_spike() -> None:
    points = [(float(x), 100.0 + 0.5 * x) for x in range(20)]
    points[7] = (7.0, 900.0)
    assert theil_sen_slope(points) == pytest.approx(0.5)
    assert theil_sen_slope([(1.0, 2.0)]) is None


def test_leak_slope_is_per_market_hour() -> None:
    # 1 MB per wall minute at 30x = 1 MB per 30 market minutes = 2 MB per market hour
    series = [[60_000 * m, 100.0 + m] for m in range(30)]
    fig = leak_figures(series, start_wall_ms=0, speed=30.0, warmup_s=0)
    assert fig["slope_mb_per_h"] == pytest.approx(2.0)
    assert fig["growth_mb"] == pytest.approx(29.0)
    assert leak_figures(series, 0, 30.0, warmup_s=10**9) is None


def test_harness_errors_that_cost_no_verdict_are_listed_not_failed() -> None:
    doc = build_dod("r1", all_pass(), harness_errors=["pushgateway cleanup failed"])
    assert (doc["verdict"], doc["failure_kind"]) == ("pass", None)
    assert doc["harness_errors"] == ["pushgateway cleanup failed"]


def test_not_claimed_is_never_a_pass_nor_a_failure_and_claimed_items_decide(tmp_path) -> None:
    """The decision (verdict.py's docstring): an unclaimed item is shown as not_claimed and
    fails no gate; the verdict is decided by the claimed items (an unknown one: `harness`, a
    failed one: `pipeline`); a run that claims nothing never passes."""
    items = all_pass() | {"D12": not_claimed("D12", "the pipeline has no outbox")}
    doc = build_dod("r1", items, contract={"level": 2, "claims": [f"D{n}" for n in range(1, 12)]})
    assert (doc["verdict"], doc["failure_kind"]) == ("pass", None)
    assert doc["items"]["D12"]["status"] == "not_claimed"
    assert doc["contract"]["claims"][-1] == "D11"
    write_dod(tmp_path, doc)   # valid against the generated schema
    with_unknown = items | {"D4": unknown("D4", "no readback")}
    assert build_dod("r1", with_unknown)["failure_kind"] == "harness"
    with_fail = with_unknown | {"D8": failed("D8", "too big", 700, 600)}
    assert build_dod("r1", with_fail)["failure_kind"] == "pipeline"
    nothing = {k: not_claimed(k, "no") for k in items}
    assert build_dod("r1", nothing)["verdict"] == "fail"


def test_combine_ranks_not_claimed_between_pass_and_unknown() -> None:
    assert combine("D1", [passed("a", "ok"), not_claimed("b", "no")]).status == "not_claimed"
    assert combine("D1", [not_claimed("b", "no"), unknown("c", "?")]).status == "unknown"


def test_a_not_claimed_d_test_is_skipped_with_its_reason_never_passed(tmp_path) -> None:
    from pytest_soak.checks.judgement import Judgement, assert_item
    from pytest_soak.evidence_loader import RunEvidence
    results = all_pass() | {"D12": not_claimed("D12", "the pipeline has no outbox")}
    judgement = Judgement(RunEvidence.load(tmp_path), results, build_dod("r1", results), None)
    with pytest.raises(pytest.skip.Exception, match="not_claimed: the pipeline has no outbox"):
        assert_item(judgement, "D12")
    assert_item(judgement, "D1")


@pytest.mark.parametrize(("value", "threshold", "limit", "want"), [
    (550.0, 600.0, "max", 50.0), (650, 600, "max", -50), (99.0, 98.0, "min", 1.0),
    (97, 98, "min", -1), (3, 3, "eq", 0), (2, 3, "eq", -1), (1, 2, None, None),
    (0.5, 0.5, "eq", 0.0),
    ({"a": 1, "b": "x"}, {"a": 3, "b": 1}, "max", {"a": 2, "b": None}),
    ([1], [1], "eq", None), (True, 1, "max", None), (None, 600, "max", None),
])
def test_headroom_is_the_distance_on_the_passing_side(value, threshold, limit, want) -> None:
    assert headroom(value, threshold, limit) == want
