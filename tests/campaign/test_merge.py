"""The campaign merge over run folders made here: good_run copies (tests/soak_checks/factory.py)
judged for real, one edited to fail, others cut short or never judged; campaign.json checked
against its schema; the merge command run as a user runs it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from pytest_soak import campaign, cli
from pytest_soak.campaign_plan import write_replay
from pytest_soak.checks.judgement import judge_run
from pytest_soak_evidence.schemas import SchemaViolation, validate
from tests.cli.conftest import run_command
from tests.soak_checks.factory import rewrite


def make_run(template: Path, where: Path, seed: int, *, judge: bool = True,
             fail_d8: bool = False) -> Path:
    """A copy of the good run as seed `seed`'s, with its replay.json; judged unless told."""
    run = where / f"soak-{seed}"
    shutil.copytree(template, run)
    for obs in ("harness_observations.json", "model/harness_observations.json"):  # and D13's
        rewrite(run, obs, lambda o: o.update(seed=seed))
    if fail_d8:       # the pipeline's own manifest contradicts the harness: D8 fails
        rewrite(run, "run_manifest.json",
                lambda m: m["resource_usage"].update(max_rss_mb=4.0))
    write_replay(run, seed=seed, sink="dual", args=["suites/soak", "-n", "2", "--soak-campaign",
                                                    "11,12"], cwd=where, campaign_in_ini=False)
    if judge:
        judge_run(run, draw=False)
    return run


@pytest.fixture(scope="module")
def judged(good_run_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Judged once per module (judging is the slow part): seed 11 passes, 12 fails D8."""
    where = tmp_path_factory.mktemp("judged")
    return {11: make_run(good_run_template, where, 11),
            12: make_run(good_run_template, where, 12, fail_d8=True)}


def campaign_of(tmp_path: Path, judged: dict, *seeds: int) -> Path:
    folder = tmp_path / "campaign-x"
    folder.mkdir(parents=True)
    for seed in seeds:
        shutil.copytree(judged[seed], folder / judged[seed].name)
    return folder


def test_all_passing_runs_merge_to_pass_with_their_replay_commands(tmp_path, judged) -> None:
    folder = campaign_of(tmp_path, judged, 11)
    doc = campaign.merge(folder, seeds=[11])
    validate(doc, "campaign")
    assert doc["verdict"] == "pass" and doc["counts"]["pass"] == 1
    (run,) = doc["runs"]
    assert (run["seed"], run["sink"], run["verdict"], run["failed"]) == (11, "dual", "pass", [])
    assert run["replay"] == "pytest suites/soak --soak-seed 11"
    assert run["wall_s"] == 30.0          # the factory's pipeline.duration_s


def test_a_failing_seed_fails_the_campaign_and_names_its_sub_checks(tmp_path, judged) -> None:
    folder = campaign_of(tmp_path, judged, 11, 12)
    doc, lines = campaign.summarize(folder, [11, 12])
    assert doc["verdict"] == "fail" and doc["counts"] == {
        "pass": 1, "unknown": 0, "interrupted": 0, "fail": 1}
    assert [r["seed"] for r in doc["runs"]] == [11, 12]
    failed = doc["runs"][1]["failed"]
    assert failed and {c["item"] for c in failed} == {"D8"}, failed
    assert all(c["status"] == "fail" for c in failed)
    on_disk = json.loads((folder / "campaign.json").read_text(encoding="utf-8"))
    assert on_disk == doc
    row = next(line for line in lines if line.startswith("12 "))
    assert "fail" in row and campaign.check_label(failed[0]) in row
    assert row.endswith("pytest suites/soak --soak-seed 12")


def test_unjudged_and_cut_short_runs_are_unknown_and_interrupted(tmp_path, judged,
                                                                 good_run_template) -> None:
    folder = campaign_of(tmp_path, judged, 11)
    make_run(good_run_template, folder, 13, judge=False)               # no dod.json
    cut = make_run(good_run_template, folder, 14, judge=False)
    rewrite(cut, "harness_observations.json",
            lambda o: o.update(interrupted=True, interrupt_reason="SIGTERM"))
    gone = make_run(good_run_template, folder, 15, judge=False)
    (gone / "harness_observations.json").unlink()                      # killed: no end at all
    doc = campaign.merge(folder)
    verdicts = {r["seed"]: (r["verdict"], r["reason"]) for r in doc["runs"]}
    assert verdicts[13][0] == "unknown" and "not judged" in verdicts[13][1]
    assert verdicts[14] == ("interrupted", "interrupted: SIGTERM")
    assert verdicts[15][0] == "interrupted"
    assert doc["verdict"] == "interrupted"          # interrupted over unknown over pass
    validate(doc, "campaign")


def test_a_seed_with_no_run_folder_is_missing_and_interrupts_the_campaign(tmp_path,
                                                                          judged) -> None:
    folder = campaign_of(tmp_path, judged, 11)
    doc = campaign.merge(folder, seeds=[11, 99])
    assert doc["missing_seeds"] == [99] and doc["verdict"] == "interrupted"
    assert doc["seeds"] == [11, 99]
    assert any(line.startswith("99 ") and "never ran" in line for line in campaign.table(doc))


def test_verdicts_merge_fail_over_interrupted_over_unknown_over_pass() -> None:
    assert campaign.worst(["pass", "pass"]) == "pass"
    assert campaign.worst(["pass", "unknown"]) == "unknown"
    assert campaign.worst(["unknown", "interrupted", "pass"]) == "interrupted"
    assert campaign.worst(["interrupted", "fail", "unknown"]) == "fail"


def test_run_folders_are_found_at_any_depth_as_pods_leave_them(tmp_path, judged) -> None:
    root = tmp_path / "runs"
    for seed in (11, 12):       # the manifest's layout: /runs/<campaign>/seed-<S>/<run_id>/
        shutil.copytree(judged[seed], root / f"seed-{seed}" / judged[seed].name)
    (root / "seed-11" / ".last_seed").write_text("11\n")
    doc = campaign.merge(root)
    assert [r["run_dir"] for r in doc["runs"]] == ["seed-11/soak-11", "seed-12/soak-12"]


def test_a_document_off_the_schema_is_refused_naming_the_path(tmp_path, judged) -> None:
    doc = campaign.merge(campaign_of(tmp_path, judged, 11))
    doc["verdict"] = "mostly"
    with pytest.raises(SchemaViolation, match=r"\$\.verdict"):
        campaign.write_campaign(tmp_path, doc)
    assert not (tmp_path / "campaign.json").exists()
    doc["verdict"] = "pass"
    del doc["runs"][0]["replay"]
    with pytest.raises(SchemaViolation, match=r"\$\.runs\[0\]"):
        campaign.write_campaign(tmp_path, doc)


def test_the_table_shows_at_most_three_sub_checks_per_row() -> None:
    checks = [{"item": "D2", "check": f"c{i}", "subject": None, "status": "fail"}
              for i in range(5)]
    run = {"seed": 1, "sink": "dual", "run_id": "r", "run_dir": "r", "verdict": "fail",
           "failure_kind": "pipeline", "failed": checks, "wall_s": 70.25, "replay": None,
           "replay_cwd": None, "reason": "dod.json: pipeline"}
    doc = {"campaign": "c", "verdict": "fail", "counts": {"pass": 0, "unknown": 0,
           "interrupted": 0, "fail": 1}, "runs": [run], "missing_seeds": []}
    title, header, row = campaign.table(doc)
    assert title == "soak campaign c: FAIL (1 run(s): 1 fail)"
    assert header.split()[:4] == ["seed", "sink", "verdict", "wall"]
    assert "D2 c0; D2 c1; D2 c2; +2 more" in row and "70.25" in row
    assert row.endswith("(no replay.json) --soak-seed 1")


def test_the_merge_command_exits_by_the_campaigns_verdict(tmp_path, judged, capsys) -> None:
    passing = campaign_of(tmp_path / "a", judged, 11)
    assert cli.main(["campaign-merge", str(passing)]) == 0
    assert "soak campaign campaign-x: PASS" in capsys.readouterr().out
    assert cli.main(["campaign-merge", str(passing), "--seeds", "11,12"]) == 3
    failing = campaign_of(tmp_path / "b", judged, 11, 12)
    done = run_command([sys.executable, "-m", "pytest_soak", "campaign-merge", str(failing)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"campaign.json: {failing / 'campaign.json'}" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["campaign-merge", "/nonexistent/folder"], "DIR /nonexistent/folder: no such folder"),
    (["campaign-merge", "{empty}"], "no run folder in it"),
    (["campaign-merge", "{empty}", "--seeds", "1,x"], "--seeds '1,x'"),
])
def test_merge_usage_errors_exit_2_naming_the_argument(tmp_path, capsys, args, message) -> None:
    args = [a.replace("{empty}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
