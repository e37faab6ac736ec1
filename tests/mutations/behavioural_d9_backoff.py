"""D9's backoff broken for real: the supervisor patched (tests/mutations/patches/
patch_d9_backoff.py) in a short soak that kills signal three times
(tests/mutations/schedules/d9_backoff.yaml). One group, two breakages touching different
sub-checks: the restart is due at once while the declared delays are booked (only the
harness's kill -> new pid gap sees it), and the backoff never resets (reported honestly:
0.2, 0.4, 0.8). Its control runs the same schedule with nothing broken."""

from __future__ import annotations

from pathlib import Path

from .catalogue import Mutation
from .soaks import Group

SCHEDULE = Path(__file__).resolve().parent / "schedules" / "d9_backoff.yaml"
HOLE = "D9 backoff"

GROUPS = [
    Group("backoff control", schedule=SCHEDULE, minutes=8),
    Group("backoff broken", patches=("supervisor restarts at once", "backoff never resets"),
          schedule=SCHEDULE, minutes=8, control="backoff control"),
]

MUTATIONS = [
    Mutation("the supervisor restarts at once while booking the declared delays",
             "behavioural", (("D9", "kill to new pid"),), disguise="declared", hole=HOLE,
             group="backoff broken"),
    Mutation("the supervisor's backoff never resets", "behavioural",
             (("D9", "backoff reset"), ("D9", "backoff delays")), disguise="wrong", hole=HOLE,
             group="backoff broken"),
]
