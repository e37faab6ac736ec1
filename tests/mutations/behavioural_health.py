"""The "health pid" hole for real: the reference supervisor patched so its /health lies about
pids (tests/mutations/patches/patch_health.py) on the short honesty schedule (one SIGKILL of
signal at market minute 4). After the kill the body keeps calling signal healthy under its
killed pid, while the supervisor restarts it for real; and it names its own pid as report's.
Only the harness's psutil view of the pids catches either: D9 never sees signal healthy
again, D2 counts both stages unhealthy after the kill, D1 finds no all-healthy poll near the
stop. The control (`intact`) passes the same sub-checks."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUPS = [
    Group("health lies about pids", patches=("health keeps a killed stage's old pid",
                                             "health names the supervisor as report")),
]


def _b(name: str, *fails: tuple[str, str]) -> Mutation:
    return Mutation(name, "behavioural", fails, disguise="declared", hole="health pid",
                    group="health lies about pids")


MUTATIONS = [
    _b("/health calls a killed stage healthy under its old pid", ("D9", "restart"),
       ("D2", "stage health"), ("D1", "served until the stop")),
    _b("/health names the supervisor's pid for report", ("D2", "stage health"),
       ("D1", "served until the stop")),
]
