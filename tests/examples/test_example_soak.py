"""The example pipeline soaked as a user soaks it: `python -m pytest suites/soak` with its spec
(level 1, claiming D1, D2, D8, D9, D10) and its kill schedule; and the never-restarting
variant, which must fail D9 for the right reason. Each soak runs once per module."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.examples.conftest import EXAMPLE, REPO, SOAK_MINUTES

pytestmark = pytest.mark.slow

CLAIMED = ("D1", "D2", "D8", "D9", "D10")


@dataclass
class Soak:
    code: int
    output: str
    dod: dict

    def item(self, item_id: str) -> dict:
        return self.dod["items"][item_id]

    def why(self) -> str:
        lines = [f"{i}: {v['status']}: {v.get('reason')}" for i, v in self.dod["items"].items()]
        return "\n".join(lines) + "\n" + self.output[-3000:]


def soak(spec: str, where: Path, minutes: float = SOAK_MINUTES) -> Soak:
    """One soak of a spec of examples/asyncio_pipeline/ with its kill schedule."""
    runs = where / "runs"
    argv = [sys.executable, "-m", "pytest", "suites/soak", "-p", "no:cacheprovider", "-ra",
            "--soak-config", str(EXAMPLE / spec),
            "--soak-schedule", str(EXAMPLE / "kills.yaml"), "--soak-minutes", str(minutes),
            "--soak-timeseries", "none",          # the pipeline exports to no store
            "--soak-run-dir", str(runs), "--soak-keep"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    found = sorted(runs.glob("*/dod.json"))
    assert found, f"{spec}: no dod.json written:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    return Soak(done.returncode, done.stdout, json.loads(found[-1].read_text("utf-8")))


@pytest.fixture(scope="module")
def restarting(tmp_path_factory: pytest.TempPathFactory) -> Soak:
    return soak("soak.yaml", tmp_path_factory.mktemp("example-soak"))


@pytest.fixture(scope="module")
def never_restarting(tmp_path_factory: pytest.TempPathFactory) -> Soak:
    # its D9 is decided by the first kill (minute 1): no leak fit needed, a short soak will do
    return soak("soak_norestart.yaml", tmp_path_factory.mktemp("example-norestart"), 4)


def test_the_example_pipeline_passes_every_item_it_claims(restarting: Soak) -> None:
    for item_id in CLAIMED:
        assert restarting.item(item_id)["status"] == "pass", restarting.why()
    assert restarting.dod["verdict"] == "pass", restarting.why()
    assert restarting.code == 0, restarting.why()


def test_what_it_does_not_claim_is_not_claimed(restarting: Soak) -> None:
    others = {i: v["status"] for i, v in restarting.dod["items"].items() if i not in CLAIMED}
    assert others and set(others.values()) == {"not_claimed"}, restarting.why()
    assert restarting.dod["contract"] == {"level": 1, "claims": list(CLAIMED)}
    shown = f"not_claimed (contract level 1): {', '.join(sorted(others, key=lambda i: int(i[1:])))}"
    assert shown in restarting.output                      # the terminal's DoD section
    assert f"{len(others)} skipped" in restarting.output   # their D-tests: neither pass nor fail


def test_the_kills_were_real_and_each_stage_came_back(restarting: Soak) -> None:
    parts = [p for p in restarting.item("D9")["parts"] if p["name"] == "restart"]
    assert sorted(p["subject"].split()[0] for p in parts) == ["compute", "ingest"]
    assert all(p["status"] == "pass" for p in parts), restarting.why()


def test_the_never_restarting_variant_fails_d9_because_compute_stays_dead(
        never_restarting: Soak) -> None:
    d9 = never_restarting.item("D9")
    assert d9["status"] == "fail", never_restarting.why()
    assert "compute was never restarted" in d9["reason"], d9["reason"]
    alive = {p["subject"]: p["status"] for p in d9["parts"] if p["name"] == "new pid alive"}
    assert alive["compute (kill-compute)"] == "fail", alive      # the level-0 view agrees
    assert never_restarting.dod["verdict"] == "fail"
    assert never_restarting.code != 0
