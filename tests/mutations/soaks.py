"""Short real soaks of broken pipelines, one per group of behavioural mutations.

A `Group` is the reference pipeline (fixtures/soak/reference_pipeline.yaml) changed for real:
- `patches`: names from tests/mutations/patches/ (PATCHES dicts) that replace a function of a
  stage, the supervisor or the feed inside its own process (installed by the
  sitecustomize.py there, which every Python process of the pipeline imports at start-up
  through PYTHONPATH; SOAK_TEST_PATCHES names them);
- `supervisor` / `config`: an overlay of the pipeline's configuration (a supervisor that
  never restarts, a wrong shutdown order);
- `damage`: breakages of tests/soak/broken/wrap.py applied to the evidence after the
  supervisor exits (not behavioural on their own: `live` is false for a group of only these).
Each group runs once per test session (`group_dod`), as a user runs it: pytest suites/soak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "fixtures" / "soak" / "reference_pipeline.yaml"
WRAP = REPO / "tests" / "soak" / "broken" / "wrap.py"
PATCH_DIR = Path(__file__).resolve().parent / "patches"
HONESTY_SCHEDULE = REPO / "tests" / "soak" / "broken" / "honesty_schedule.yaml"


@dataclass(frozen=True)
class Group:
    name: str
    patches: tuple[str, ...] = ()
    supervisor: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    damage: tuple[str, ...] = ()
    schedule: Path = HONESTY_SCHEDULE
    minutes: int = 8
    speed: int = 30
    args: tuple[str, ...] = ()
    # the group run with nothing broken whose same sub-checks must pass
    control: str = "intact"

    @property
    def live(self) -> bool:
        """True when the pipeline itself behaves differently while it runs."""
        return bool(self.patches or self.supervisor or self.config)

    def spec(self, where: Path) -> Path:
        spec = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
        spec["name"] = f"broken reference pipeline ({self.name})"
        for key in ("cwd", "base_config"):      # the copy lives elsewhere: absolute paths
            spec[key] = str((REFERENCE.parent / spec[key]).resolve())
        if self.damage:
            spec["command"] = ["{python}", str(WRAP), ",".join(self.damage), "--",
                               *spec["command"]]
        overlay = spec.setdefault("config_overlay", {})
        if self.supervisor:
            overlay["supervisor"] = self.supervisor
        for section, values in self.config.items():
            overlay.setdefault(section, {}).update(values)
        if self.patches:
            env = spec.setdefault("env", {})
            env["PYTHONPATH"] = os.pathsep.join([str(PATCH_DIR), str(REPO)])
            env["SOAK_TEST_PATCHES"] = ",".join(self.patches)
        path = where / "pipeline.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        return path


@dataclass
class GroupRun:
    code: int
    output: str
    dod: dict


def run_group(group: Group, where: Path) -> GroupRun:
    """One short soak of the group's broken pipeline; its pytest output and dod.json."""
    where.mkdir(parents=True, exist_ok=True)
    runs = where / "runs"
    argv = [sys.executable, "-m", "pytest", str(REPO / "suites" / "soak"), "-p",
            "no:cacheprovider", "-ra", "--soak-config", str(group.spec(where)),
            "--soak-schedule", str(group.schedule), "--soak-minutes", str(group.minutes),
            "--soak-speed", str(group.speed), "--soak-run-dir", str(runs), "--soak-keep",
            "-o", "timeout=300", *group.args]
    proc = subprocess.run(argv, cwd=where, capture_output=True, text=True, timeout=600,
                          check=False)
    found = sorted(runs.glob("*/dod.json"))
    assert found, f"{group.name}: no dod.json written:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    return GroupRun(proc.returncode, proc.stdout,
                    json.loads(found[-1].read_text(encoding="utf-8")))
