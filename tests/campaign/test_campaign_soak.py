"""Campaigns for real, over the example pipeline (examples/asyncio_pipeline, a fast one):
two seeds side by side on two xdist workers, all passing, merged into campaign.json by the
controller; and the never-restarting variant, whose failing seed's replay command, run again,
fails the same sub-checks. (Run under `flock /tmp/soak-helper.lock`: they soak.)"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_soak import campaign
from pytest_soak_evidence.schemas import validate
from tests.examples.conftest import EXAMPLE, REPO, SOAK_MINUTES

pytestmark = pytest.mark.slow


def soak_argv(spec: str, runs: Path, minutes: float, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites/soak", "-p", "no:cacheprovider", "-ra",
            "--soak-config", str(EXAMPLE / spec), "--soak-schedule", str(EXAMPLE / "kills.yaml"),
            "--soak-minutes", f"{minutes:g}", "--soak-timeseries", "none",
            "--soak-run-dir", str(runs), "--soak-keep", *extra]


def run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900,
                          check=False)


def the_campaign(runs: Path) -> dict:
    (found,) = runs.glob("campaign-*/campaign.json")
    doc = json.loads(found.read_text(encoding="utf-8"))
    validate(doc, "campaign")
    return doc


def test_two_seeds_side_by_side_all_pass_into_one_campaign_json(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run(soak_argv("soak.yaml", runs, SOAK_MINUTES, "--soak-campaign", "2",
                         "--soak-seed", "31", "-n", "2", "--dist", "loadgroup"))
    out = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, out[-6000:]
    doc = the_campaign(runs)
    assert doc["verdict"] == "pass" and doc["seeds"] == [31, 32], out[-6000:]
    assert [(r["seed"], r["verdict"]) for r in doc["runs"]] == [(31, "pass"), (32, "pass")]
    workers = {r["run_id"].split("-")[3] for r in doc["runs"]}
    assert workers == {"gw0", "gw1"}, doc["runs"]          # one seed per worker
    lives = []
    for entry in doc["runs"]:
        obs = json.loads((runs / doc["campaign"] / entry["run_dir"] /
                          "harness_observations.json").read_text(encoding="utf-8"))
        assert obs["seed"] == entry["seed"]
        lives.append((obs["pipeline"]["started_ms"], obs["pipeline"]["stopped_ms"]))
        assert entry["wall_s"] and entry["wall_s"] > 0
        assert "-n" not in shlex.split(entry["replay"])
        assert entry["replay"].endswith(f"--soak-seed {entry['seed']}")
    (a0, a1), (b0, b1) = lives
    assert a0 < b1 and b0 < a1, "the two soaks ran at the same time"
    assert f"soak campaign {doc['campaign']}: PASS (2 run(s): 2 pass)" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(("31 ", "32 "))]
    assert len(rows) == 2 and all("pytest suites/soak" in row for row in rows), rows


def test_a_failing_seeds_replay_fails_the_same_sub_checks(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    # no -n: the campaign's seeds one after the other (the session's own path, no xdist)
    done = run(soak_argv("soak_norestart.yaml", runs, 4, "--soak-campaign", "41,42"))
    assert done.returncode == 1, done.stdout[-6000:]
    doc = the_campaign(runs)
    assert doc["verdict"] == "fail" and [r["verdict"] for r in doc["runs"]] == ["fail", "fail"]
    first = doc["runs"][1]
    labels = sorted(campaign.check_label(c) for c in first["failed"])
    assert any(label.startswith("D9 new pid alive") for label in labels), labels
    argv = shlex.split(first["replay"])
    assert argv[0] == "pytest" and "--soak-campaign" not in argv and argv[-2:] == [
        "--soak-seed", "42"]
    again = run([sys.executable, "-m", *argv], cwd=Path(first["replay_cwd"]))
    assert again.returncode == 1, again.stdout[-6000:]
    (replayed,) = [p for p in runs.glob("soak-*/dod.json")]      # beside the campaign folder
    obs = json.loads((replayed.parent / "harness_observations.json").read_text("utf-8"))
    assert obs["seed"] == 42
    dod = json.loads(replayed.read_text(encoding="utf-8"))
    assert sorted(campaign.check_label(c) for c in campaign.failed_checks(dod)) == labels
