"""What a run folder keeps after the session.

A failing or interrupted run is kept whole: it is the evidence someone must read. A passing run
keeps every evidence file (manifests, reports, sinks, outbox, logs, observations, dod.json) but
loses the bulk a reviewer never opens -- the durable handoff logs and raw recordings -- unless
--soak-keep is given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

BULK = ("handoff", "recordings")


def prune_passing_run(run_dir: Path) -> list[str]:
    """Remove the bulky intermediate folders of a passing run; returns what was removed."""
    removed = []
    for name in BULK:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed
