"""Recorded mutations of D3's live alert path: an Alertmanager that never sends a rule's
resolution, and one that sends a firing before the fault could have caused it (the webhook's
record as the harness kept it; tests/soak_checks/test_alert_notifications.py builds it)."""

from __future__ import annotations

from pathlib import Path

from tests.soak_checks.test_alert_notifications import with_alert_path

from .catalogue import Mutation

NOTIFIED = ("D3", "alert notifications")


def _never_resolved(run_dir: Path) -> None:
    with_alert_path(run_dir, drop=("no_data", "resolved"))


def _fired_too_early(run_dir: Path) -> None:
    with_alert_path(run_dir, lag_s={("data_drop", "firing"): -10})


MUTATIONS = [
    Mutation("Alertmanager never notifies a rule's resolution", "recorded", (NOTIFIED,),
             apply=_never_resolved),
    Mutation("a firing notified before its fault could cause it", "recorded", (NOTIFIED,),
             apply=_fired_too_early),
]
