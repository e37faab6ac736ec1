"""--soak-campaign: its values, its usage errors (each naming the option), the seeds it runs,
one xdist group per seed, the replay command, and what retention does with a campaign."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_soak.campaign_plan import (
    check_side_by_side,
    replay_argv,
    resolve_seeds,
    run_settings,
)
from pytest_soak.retention import prune_passed_runs
from pytest_soak.settings import SoakSettings, SoakUsageError, parse_campaign

pytest_plugins = ["pytester"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncio_pipeline"
SPEC = f"--soak-config={EXAMPLE / 'soak.yaml'}"


@pytest.mark.parametrize(("text", "parsed"), [
    ("4", 4), ("11,12,13", (11, 12, 13)), ("11,", (11,)), (" 7 , 9 ", (7, 9)),
    ("none", None), ("", None)])
def test_a_count_or_a_seed_list(text: str, parsed) -> None:  # noqa: ANN001
    assert parse_campaign(text) == parsed


@pytest.mark.parametrize(("text", "why"), [
    ("0", "at least 1 seed"), ("-3", "at least 1 seed"), ("four", "invalid literal"),
    ("11,11", "listed twice"), ("11,-2", ">= 0"), ("1,x", "invalid literal")])
def test_a_bad_campaign_is_a_usage_error_naming_the_option(text: str, why: str) -> None:
    with pytest.raises(SoakUsageError, match="--soak-campaign / soak_campaign") as exc:
        SoakSettings.from_values({"soak_campaign": text})
    assert why in str(exc.value)


def test_a_seed_list_and_a_seed_are_one_too_many() -> None:
    with pytest.raises(SoakUsageError, match="--soak-campaign / soak_campaign = '1,2'.*drop "
                                             "--soak-seed"):
        SoakSettings.from_values({"soak_campaign": "1,2", "soak_seed": "5"})
    assert SoakSettings.from_values({"soak_campaign": "1,2"}).seed == 1


def test_a_count_counts_up_from_the_base_seed() -> None:
    assert resolve_seeds(3, 100) == [100, 101, 102]
    assert resolve_seeds((5, 3), 100) == [5, 3]
    assert resolve_seeds(None, 100) == []


def test_side_by_side_needs_loadgroup() -> None:
    with pytest.raises(SoakUsageError, match="needs --dist loadgroup \\(got --dist load\\)"):
        check_side_by_side(2, "load")
    check_side_by_side(2, "loadgroup")
    check_side_by_side(None, "no")
    check_side_by_side(0, "no")


def test_a_seeds_run_goes_to_the_campaigns_folder(tmp_path) -> None:  # noqa: ANN001
    settings = SoakSettings.from_values({"soak_run_dir": str(tmp_path)})
    assert run_settings(settings, 5).run_dir == tmp_path and run_settings(settings, 5).seed == 5
    settings.campaign_id = "campaign-x"
    assert run_settings(settings, 6).run_dir == tmp_path / "campaign-x"
    assert settings.run_dir == tmp_path            # the session's own settings are unchanged


def test_the_replay_command_drops_the_campaign_and_xdist_options() -> None:
    args = ["suites/soak", "-n", "2", "--dist", "loadgroup", "--soak-campaign", "11,12",
            "--soak-minutes", "4", "-n2", "--soak-seed=3", "--dist=loadgroup", "-q"]
    assert replay_argv(args, 12, campaign_in_ini=False) == [
        "pytest", "suites/soak", "--soak-minutes", "4", "-q", "--soak-seed", "12"]
    assert replay_argv(["suites/soak"], 12, campaign_in_ini=True) == [
        "pytest", "suites/soak", "--soak-seed", "12", "--soak-campaign", "none"]


GROUPS = """
    def pytest_collection_finish(session):
        for item in session.items:
            group = item.get_closest_marker("xdist_group")
            print("GROUP", item.name, group.args[0] if group else None)
"""


def test_one_xdist_group_per_seed_and_sink(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(GROUPS)
    pytester.makepyfile(test_x="def test_a(soak_run):\n    pass\n"
                               "def test_b(soak_sink):\n    pass\n")
    result = pytester.runpytest(SPEC, "--co", "-s", "--soak-campaign=11,12",
                                "--soak-sink=jsonl,sqlite", "--soak-schedule=none",
                                f"--soak-run-dir={pytester.path / 'r'}")
    groups = {line.split()[1]: line.split()[2] for line in result.outlines
              if line.startswith("GROUP")}
    assert groups["test_a[seed=11-sink=jsonl]"] == "soak-seed-11-sink-jsonl"
    assert groups["test_a[seed=12-sink=sqlite]"] == "soak-seed-12-sink-sqlite"
    assert groups["test_b[sink=jsonl]"] == "soak-sink-jsonl"   # asks for no seed: no campaign
    assert len(groups) == 6
    result.stdout.fnmatch_lines(["soak: campaign campaign-*: seeds 11, 12 (one soak each*"])
    assert not list((pytester.path / "r").glob("campaign-*")), "--co: nothing ran, no folder"


def test_a_count_takes_the_schedules_seed_as_its_base(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_a(soak_seed):\n    pass\n")
    result = pytester.runpytest(SPEC, "--co", "-q", "--soak-campaign=3",
                                f"--soak-schedule={EXAMPLE / 'kills.yaml'}",   # its seed: 1
                                f"--soak-run-dir={pytester.path / 'r'}")
    result.stdout.fnmatch_lines(["*test_a?seed=1?", "*test_a?seed=2?", "*test_a?seed=3?"])


@pytest.mark.parametrize(("args", "message"), [
    (["--soak-campaign=0"], "--soak-campaign / soak_campaign = '0': a campaign runs at least"),
    (["--soak-campaign=2", "-n", "2"], "--soak-campaign with -n 2 needs --dist loadgroup"),
    (["--soak-campaign=2", "--soak-from-run=x"], "--soak-campaign runs soaks; --soak-from-run"),
])
def test_usage_errors_stop_the_session(pytester: pytest.Pytester, args, message) -> None:  # noqa: ANN001
    pytester.makepyfile(test_x="def test_a(soak_seed):\n    pass\n")
    result = pytester.runpytest(SPEC, "--co", "--soak-schedule=none", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_ini_twin_runs_a_campaign(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsoak_campaign = 21,22\n")
    pytester.makepyfile(test_x="def test_a(soak_seed):\n    pass\n")
    result = pytester.runpytest(SPEC, "--co", "-q", "--soak-schedule=none")
    result.stdout.fnmatch_lines(["*test_a?seed=21?", "*test_a?seed=22?"])
    off = pytester.runpytest(SPEC, "--co", "-q", "--soak-schedule=none", "--soak-campaign=none")
    off.stdout.fnmatch_lines(["*test_a"])


def test_a_passed_campaign_is_pruned_whole_a_failed_one_kept(tmp_path) -> None:  # noqa: ANN001
    for name, verdict in (("campaign-a", "pass"), ("campaign-b", "fail")):
        (tmp_path / name / "soak-1").mkdir(parents=True)
        (tmp_path / name / "campaign.json").write_text(json.dumps({"verdict": verdict}))
    assert prune_passed_runs(tmp_path) == ["campaign-a"]
    assert (tmp_path / "campaign-b" / "soak-1").is_dir()
