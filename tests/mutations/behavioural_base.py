"""One short real soak of the D4, D10 and D11 holes (tests/mutations/patches/patch_base.py),
three breakages touching different sub-checks: the report stage writes UTC under REPORT_TZ's
name (D11), the exporter counts minutes it never pushed (D4), the broker tears its last
status write (D10). Control: `intact`."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUP = "base holes"
GROUPS = [Group(GROUP, patches=("report_in_utc", "export_skips_minutes",
                                "broker_tears_last_status"))]


def _b(name: str, *fails: tuple[str, str], disguise: str, hole: str) -> Mutation:
    return Mutation(name, "behavioural", fails, disguise=disguise, hole=hole, group=GROUP)


MUTATIONS = [
    _b("the report stage writes UTC under REPORT_TZ's name", ("D11", "report time zone"),
       disguise="declared", hole="D11 time zone"),
    _b("the exporter counts minutes it never pushed", ("D4", "export_count"),
       disguise="declared", hole="D4 store count"),
    _b("broker tears its last status write", ("D10", "residual queues"), disguise="wrong",
       hole="D10 unreadable"),
]
