"""The DoD registry is the one list of items: the dod.json schema and the docs' item table are
generated from it, README and the docs' comparison table list exactly its items, the suite has
one D-test per item, and a check's result is held to its item's spec."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_soak import generated
from pytest_soak.checks import CHECKS, ITEM_IDS, ITEMS, REGISTRY, Thresholds, judge, run_check
from pytest_soak.dod import schema
from pytest_soak.dod.spec import DodItem, DodSpecError, SubCheck
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.verdict import ItemResult, build_dod, combine, failed, passed, unknown
from pytest_soak_evidence.schemas import violations

from .factory import good_run

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "suites" / "soak"
SHIPPED = REPO / "pytest_soak" / "suite.py"
D_TEST = re.compile(r"^test_(D\d+)_\w+$")
D_ID = re.compile(r"^D\d+$")


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return good_run(tmp_path_factory.mktemp("good"))


def test_the_registry_is_D1_to_Dn_with_named_subchecks() -> None:
    assert ITEM_IDS == tuple(f"D{n}" for n in range(1, len(REGISTRY) + 1))
    assert len(REGISTRY) >= 12
    for spec in REGISTRY:
        assert spec.name and spec.title and spec.description and spec.subchecks, spec.id
        assert callable(spec.check), spec.id
        assert CHECKS[spec.id] is spec.check


def test_every_registry_derived_file_is_the_generated_one() -> None:
    """The DoD schema and item table, the fault-kind enum and kind table."""
    assert generated.stale() == [], f"run: {generated.COMMAND}"
    assert generated.main(["--check"]) == 0


def test_an_item_or_subcheck_left_out_changes_what_is_generated() -> None:
    """The comparison above can fail: a registry missing an item or a sub-check generates
    another schema and another docs table than the committed ones."""
    committed = schema.SCHEMA_FILE.read_text(encoding="utf-8")
    fewer_items = REGISTRY[:-1]
    d7 = ITEMS["D7"]
    fewer_parts = tuple(replace(s, subchecks=s.subchecks[:-1]) if s is d7 else s
                        for s in REGISTRY)
    for registry in (fewer_items, fewer_parts):
        assert schema.schema_text(registry) != committed
        assert schema.docs_table(registry) != schema.docs_table()


def _dod_with_part(item: str, name: str) -> dict:
    results = {i: passed(i, "fine") for i in ITEM_IDS}
    results[item] = combine(item, [passed(name, "fine", 1, 2)])
    return build_dod("r1", results)


def test_the_schema_knows_each_items_subchecks() -> None:
    assert violations(_dod_with_part("D7", "queue_dropped"), "dod") == []
    found = violations(_dod_with_part("D7", "made up"), "dod")
    assert found and "$.items.D7.parts[0].name" in found[0]
    doc = _dod_with_part("D7", "queue_dropped")
    doc["items"]["D99"] = doc["items"]["D7"]
    assert violations(doc, "dod")


def _table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if re.match(r"^\|\s*D\d+\s*\|", line)]


def test_readme_lists_exactly_the_registered_items_by_their_names() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The Definition of Done"):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    rows = _table_rows(section)
    assert [(r[0], r[1]) for r in rows] == [(s.id, s.name) for s in REGISTRY]


def test_the_docs_comparison_table_lists_exactly_the_registered_items() -> None:
    docs = schema.DOCS_FILE.read_text(encoding="utf-8")
    section = docs[docs.index("## What each item compares"):]
    section = section[:section.index("\n## ")]
    assert [r[0] for r in _table_rows(section)] == list(ITEM_IDS)


def _suite_tests() -> list[tuple[str, str, list[str]]]:
    """(file, test function, D-ids its body names) for every test function of the shipped
    suite (pytest_soak/suite.py)."""
    out = []
    tree = ast.parse(SHIPPED.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            ids = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str) and D_ID.match(n.value)]
            out.append((SHIPPED.name, node.name, ids))
    return out


def test_the_suite_has_one_D_test_per_item_asserting_its_own_id() -> None:
    tests = _suite_tests()
    named = [D_TEST.match(name).group(1) for _f, name, _ids in tests if D_TEST.match(name)]
    assert sorted(named, key=lambda i: int(i[1:])) == list(ITEM_IDS), named
    for file, name, ids in tests:
        match = D_TEST.match(name)
        assert match, f"{file}::{name} is not named test_Dn_*"
        assert ids == [match.group(1)], f"{file}::{name} asserts {ids}"
    from pytest_soak import suite
    assert sorted(suite.__all__) == sorted(name for _f, name, _ids in tests)


def test_this_checkouts_suite_imports_every_shipped_D_test_exactly_once() -> None:
    imported = []
    for path in sorted(SUITE.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported += [a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                     and n.module == "pytest_soak.suite" for a in n.names]
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef)], path.name
    assert sorted(imported) == sorted(name for _f, name, _ids in _suite_tests())


def test_the_suite_names_no_id_outside_the_registry() -> None:
    tree = ast.parse(SHIPPED.read_text(encoding="utf-8"))
    strays = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
              and isinstance(n.value, str) and D_ID.match(n.value)} - set(ITEM_IDS)
    assert not strays, f"{SHIPPED.name} names {strays}"


def test_every_registered_plot_is_drawn(good: Path, tmp_path: Path) -> None:
    import shutil

    from pytest_soak import plots
    run_dir = tmp_path / "run"
    shutil.copytree(good, run_dir)
    drawn = {p.name for p in plots.draw_all(RunEvidence.load(run_dir, fresh=True))}
    assert {p for spec in REGISTRY for p in spec.plots} <= drawn


# ---- a check's result is held to its spec --------------------------------------------------

def _spec(**kw) -> DodItem:
    base = dict(id="D1", name="x", title="x", description="x", check=lambda run, t: None,
                subchecks=(SubCheck("a", "max"), SubCheck("b", per="stage"),
                           SubCheck("c", when="sometimes")))
    return DodItem(**(base | kw))


def test_conform_sets_each_parts_limit() -> None:
    out = _spec().conform(combine("D1", [passed("a", "ok", 3, 5),
                                         passed("b", "ok", subject="harvest")]))
    assert [(p.item, p.limit, p.headroom) for p in out.parts] == [("a", "max", 2),
                                                                    ("b", None, None)]


@pytest.mark.parametrize(("parts", "message"), [
    ([passed("a", "ok"), passed("b", "ok"), passed("zz", "ok")], "does not declare"),
    ([passed("a", "ok")], "no part for declared"),
    ([passed("a", "ok", subject="x"), passed("b", "ok")], "runs once"),
])
def test_a_result_that_strays_from_its_spec_is_an_error(parts, message) -> None:
    with pytest.raises(DodSpecError, match=message):
        _spec().conform(combine("D1", parts))


def test_a_pass_without_subchecks_strays_but_an_early_unknown_does_not() -> None:
    with pytest.raises(DodSpecError, match="without running"):
        _spec().conform(passed("D1", "fine"))
    assert _spec().conform(unknown("D1", "no data")).status == "unknown"


def test_a_check_returning_an_undeclared_part_is_unknown_never_pass(good, monkeypatch) -> None:
    real = CHECKS["D7"]

    def renamed(run, t) -> ItemResult:
        result = real(run, t)
        return combine("D7", [replace(result.parts[0], item="queue drops"), *result.parts[1:]])
    monkeypatch.setitem(CHECKS, "D7", renamed)
    result = run_check("D7", RunEvidence.load(good, fresh=True), Thresholds())
    assert result.status == "unknown" and "strayed from its spec" in result.reason
    assert "'queue drops'" in result.reason


def test_a_check_missing_a_declared_part_is_unknown(good, monkeypatch) -> None:
    real = CHECKS["D4"]
    monkeypatch.setitem(CHECKS, "D4", lambda run, t: combine("D4", real(run, t).parts[1:]))
    result = run_check("D4", RunEvidence.load(good, fresh=True), Thresholds())
    assert result.status == "unknown" and "export_count" in result.reason


def test_the_good_run_carries_limits_and_headroom_into_dod_json(good: Path) -> None:
    results = judge(RunEvidence.load(good, fresh=True), Thresholds())
    doc = build_dod("r1", results)
    assert violations(doc, "dod") == []
    parts = {p["name"]: p for p in doc["items"]["D8"]["parts"]}
    rss = parts["harness RSS"]
    assert rss["limit"] == "max"
    assert rss["headroom"] == pytest.approx(rss["threshold"] - rss["value"])
    minutes = doc["items"]["D1"]["parts"][0]
    assert minutes["name"] == "market minutes" and minutes["headroom"] >= 0
    assert {p["subject"] for p in doc["items"]["D2"]["parts"]} == {
        "harvest", "signal", "broker", "report"}
    for item in doc["items"].values():
        for part in item.get("parts", []):
            numbers = all(isinstance(part[k], int | float) and not isinstance(part[k], bool)
                          for k in ("value", "threshold"))
            if part["limit"] is None or not numbers:
                assert part["headroom"] is None or isinstance(part["headroom"], dict), part
            else:
                assert isinstance(part["headroom"], int | float), part
    json.dumps(doc)


def test_failed_parts_have_negative_headroom() -> None:
    spec = _spec()
    out = spec.conform(combine("D1", [failed("a", "too big", 7, 5),
                                      passed("b", "ok", subject="s")]))
    assert out.parts[0].headroom == -2
