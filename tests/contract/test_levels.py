"""The layered contract (pytest_soak/contract.py): a spec's level and claims are checked when
it loads, a schedule fault the level cannot see is a usage error, and a run folder is judged
by the contract it ran under -- each sub-check only at the level it needs, what the pipeline
does not claim `not_claimed` (shown, never a pass, no failure)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pytest_soak.checks import ITEM_IDS, ITEMS, Thresholds, judge
from pytest_soak.checks.judgement import judge_run
from pytest_soak.contract import Contract, check_schedule, item_level
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.faults import parse_schedule
from pytest_soak.pipeline_spec import load_pipeline_spec
from pytest_soak.settings import SoakUsageError
from tests.soak_checks.factory import rewrite

LEVEL1 = {"name": "p", "command": ["x"], "stages": ["a", "b"], "level": 1,
          "claims": ["D1", "D2", "D8", "D9", "D10"], "health": {"discovery_file": "h.json"},
          "shutdown_order": ["b", "a"]}


def _spec(tmp_path: Path, **changes) -> Path:  # noqa: ANN003
    doc = {**LEVEL1, **changes}
    doc = {k: v for k, v in doc.items() if v is not None}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_level_1_spec_loads_with_its_claims_and_stop_order(tmp_path) -> None:
    contract = load_pipeline_spec(_spec(tmp_path)).contract
    assert contract == Contract(level=1, claims=("D1", "D2", "D8", "D9", "D10"),
                                shutdown_order=("b", "a"), stages=("a", "b"))
    assert contract.claimed("D9") and not contract.claimed("D3")


@pytest.mark.parametrize(("changes", "message"), [
    ({"level": 3}, r"level = 3: choose one of 0 \(processes"),
    ({"level": "one"}, r"level = 'one'"),
    ({"claims": ["D1", "D99"]}, r"claims names unknown item\(s\) \['D99'\]"),
    ({"claims": None}, r"claims must be a non-empty list"),
    ({"claims": ["D1", "D3"]}, r"claims D3, which needs level 2 \(level 1 and the evidence"),
    ({"level": 0, "health": None}, r"claims D2, which needs level 1"),
    ({"health": None}, r"level 1 needs the health URL: give health.url or "
                       r"health.discovery_file"),
    ({"shutdown_order": ["b", "zzz"]}, r"shutdown_order must list stages of 'stages'"),
    ({"claim": ["D1"]}, r"unknown key\(s\) \['claim'\]"),
    ({"self_stop_margin_min": "two"}, r"\$\.self_stop_margin_min: 'two' is not of type"),
    ({"health": {"discovery": "h.json"}}, r"\$\.health: Additional properties"),
])
def test_a_bad_contract_is_a_usage_error_naming_the_key(tmp_path, changes, message) -> None:
    with pytest.raises(SoakUsageError, match=message):
        load_pipeline_spec(_spec(tmp_path, **changes))


def test_a_spec_without_a_level_is_level_2_claiming_every_item(tmp_path) -> None:
    contract = load_pipeline_spec(_spec(tmp_path, level=None, claims=None)).contract
    assert contract.level == 2 and all(contract.claimed(i) for i in ITEM_IDS)


def test_each_item_is_claimable_at_the_level_its_lowest_subcheck_needs() -> None:
    levels = {item: item_level(item) for item in ITEM_IDS}
    assert {i for i, lv in levels.items() if lv == 0} == {"D1", "D8", "D9", "D10"}
    assert {i for i, lv in levels.items() if lv == 1} == {"D2"}
    for item, spec in ITEMS.items():
        assert all(s.level in (0, 1, 2) for s in spec.subchecks), item


def _schedule(kind: str, **extra) -> object:  # noqa: ANN003
    fault = {"id": f"f-{kind}", "kind": kind, "at_min": 1, **extra}
    return parse_schedule({"name": "t", "faults": [fault]}, seed=1)


@pytest.mark.parametrize(("kind", "extra", "level", "ok"), [
    ("kill_stage", {"target": "a"}, 0, True),
    ("store_down", {"until_min": 2}, 0, False),     # its effect: the pipeline's export errors
    ("store_down", {"until_min": 2}, 1, False),
    ("store_down", {"until_min": 2}, 2, True),
    ("drop_connections", {}, 1, False),               # expects harvest's reconnect counter
    ("drop_connections", {"expects": {"counters": []}}, 1, True),   # the schedule says less
])
def test_a_fault_the_level_cannot_see_is_a_usage_error_naming_it(kind, extra, level, ok) -> None:
    schedule = _schedule(kind, **extra)
    if ok:
        check_schedule(schedule, Contract(level=level))
        return
    with pytest.raises(SoakUsageError, match=rf"fault 'f-{kind}' \({kind}\) expects .* only "
                                             rf"level 2 .* declares level {level}"):
        check_schedule(schedule, Contract(level=level))


def _at_level(good_run_dir: Path, tmp_path: Path, level: int, claims: list[str]) -> Path:
    run = tmp_path / f"level{level}"
    shutil.copytree(good_run_dir, run)
    rewrite(run, "harness_observations.json", lambda o: o.update(contract={
        "level": level, "claims": claims, "shutdown_order": None,
        "stages": ["harvest", "signal", "broker", "report"]}))
    return run


def _parts(result) -> set[str]:  # noqa: ANN001
    return {p.item for p in result.parts}


def test_at_level_0_the_harness_judges_what_it_measures_and_nothing_else(good_run_dir,
                                                                         tmp_path) -> None:
    run = _at_level(good_run_dir, tmp_path, 0, ["D1", "D8", "D9", "D10"])
    for rel in ("run_manifest.json", "source_manifest.json", "sinks", "observer/health.jsonl"):
        path = run / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()    # no evidence, no health
    results = judge(RunEvidence.load(run, fresh=True), Thresholds())
    assert {k for k, r in results.items() if r.status == "pass"} == {"D1", "D8", "D9", "D10"}
    assert {k for k, r in results.items() if r.status == "not_claimed"} == \
        set(ITEM_IDS) - {"D1", "D8", "D9", "D10"}
    assert _parts(results["D1"]) == {"market minutes", "stages alive at the stop",
                                     "graceful exit"}
    assert _parts(results["D8"]) == {"harness RSS", "harness open files", "leak"}
    assert _parts(results["D9"]) == {"new pid alive", "restart count"}
    assert _parts(results["D10"]) == {"observed order", "orphans"}
    judgement = judge_run(run, draw=False)
    assert (judgement.dod["verdict"], judgement.dod["failure_kind"]) == ("pass", None)
    assert judgement.dod["contract"] == {"level": 0, "claims": ["D1", "D8", "D9", "D10"]}
    assert judgement.unclaimed == sorted(set(ITEM_IDS) - {"D1", "D8", "D9", "D10"},
                                         key=lambda i: int(i[1:]))


def test_at_level_1_health_joins_and_a_claimed_failure_still_fails(good_run_dir,
                                                                   tmp_path) -> None:
    claims = ["D1", "D2", "D8", "D9", "D10"]
    run = _at_level(good_run_dir, tmp_path, 1, claims)
    results = judge(RunEvidence.load(run, fresh=True), Thresholds())
    assert "served until the stop" in _parts(results["D1"])
    assert _parts(results["D9"]) == {"new pid alive", "restart count", "restart"}
    assert results["D2"].status == "pass"
    obs = json.loads((run / "harness_observations.json").read_text())
    obs["pids"]["signal"] = obs["pids"]["signal"][:-1]       # never restarted after a kill
    (run / "harness_observations.json").write_text(json.dumps(obs))
    judgement = judge_run(run, draw=False)
    assert judgement.results["D9"].status == "fail"
    assert (judgement.dod["verdict"], judgement.dod["failure_kind"]) == ("fail", "pipeline")
    assert [r.item for r in judgement.failing] == ["D1", "D9"]   # alive at the stop, too


def test_every_spec_in_the_repository_is_in_the_shipped_format() -> None:
    repo = Path(__file__).resolve().parents[2]
    specs = [p for p in repo.rglob("*.yaml") if "command:" in p.read_text(encoding="utf-8")
             and "stages:" in p.read_text(encoding="utf-8") and "artifacts" not in p.parts]
    assert len(specs) >= 2
    for path in specs:
        load_pipeline_spec(path)


def test_a_spec_extends_another_changing_only_what_differs(tmp_path) -> None:
    base = _spec(tmp_path, cwd="..", base_config=None)
    sub = tmp_path / "deeper" / "variant.yaml"
    sub.parent.mkdir()
    sub.write_text("extends: ../spec.yaml\nname: variant\nclaims: [D1, D9]\n"
                   "health: {url_key: other}\n", encoding="utf-8")
    spec = load_pipeline_spec(sub)
    assert spec.name == "variant" and spec.contract.claims == ("D1", "D9")
    assert spec.contract.level == 1 and spec.command == ["x"]
    assert spec.health == {"discovery_file": "h.json", "url_key": "other"}   # deep-merged
    assert spec.cwd == tmp_path.parent.resolve()          # the base's "..", from its folder
    loop = tmp_path / "loop.yaml"
    loop.write_text("extends: loop.yaml\n", encoding="utf-8")
    with pytest.raises(SoakUsageError, match="extends loop.yaml in a loop"):
        load_pipeline_spec(loop)
    assert base.exists()
