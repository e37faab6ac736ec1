"""What stays in --soak-run-dir between sessions.

Every run of the current session is kept whole: its folder is the evidence (re-judged with
--soak-from-run, uploaded by CI). A soak run is 50-100 MB, so without --soak-keep the session
start removes the folders of *earlier* runs whose dod.json says they passed; failing,
interrupted and unjudged runs are always kept for someone to read. A campaign's folder
(`--soak-campaign`: its run folders and campaign.json) goes the same way, whole, when
campaign.json says every seed passed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def passed_run(folder: Path) -> bool:
    """A soak run folder (it has harness_observations.json) judged `pass` in its dod.json."""
    if not (folder / "harness_observations.json").is_file():
        return False
    try:
        return json.loads((folder / "dod.json").read_text(encoding="utf-8"))["verdict"] == "pass"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def passed_campaign(folder: Path) -> bool:
    """A campaign folder whose campaign.json says every run passed."""
    try:
        doc = json.loads((folder / "campaign.json").read_text(encoding="utf-8"))
        return doc["verdict"] == "pass"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def prune_passed_runs(run_dir: Path) -> list[str]:
    """Remove earlier passing runs under `run_dir`; returns their folder names."""
    removed = []
    if not run_dir.is_dir():
        return removed
    for folder in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        if passed_run(folder) or passed_campaign(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
