"""Recorded mutations of D9's backoff (hole "D9 backoff"): the good run kills signal three
times (tests/soak_checks/factory.py: delays 0.2, 0.4 inside the stable period, 0.2 after it).
Each edits that run the way a broken supervisor would have left it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.soak_checks.factory import rewrite

from .catalogue import Mutation

OBS, MAN = "harness_observations.json", "run_manifest.json"
HOLE = "D9 backoff"
DELAYS, GAP, RESET = ("D9", "backoff delays"), ("D9", "kill to new pid"), ("D9", "backoff reset")


def _delays(*delays: float) -> Callable[[Path], None]:
    """The supervisor reports (and applied) these delays for signal's three restarts."""
    def change(doc: dict) -> None:
        doc["restart_backoff_pattern"]["signal"] = list(delays)
        signal = next(p for p in doc["status"]["processes"] if p["name"] == "signal")
        signal["backoff_delays_s"] = list(delays)
    return lambda run: rewrite(run, MAN, change)


def _restart_after(gap_ms: int, which: tuple[int, ...]) -> Callable[[Path], None]:
    """The new pid of each `which` kill started `gap_ms` after the kill (the harness's psutil
    start time), whatever delay the manifest reports."""
    def change(doc: dict) -> None:
        for i in which:
            r = doc["restarts"][i]
            r["new_pid_started_ms"] = r["killed_ms"] + gap_ms
    return lambda run: rewrite(run, OBS, change)


def _reset_too_early(run: Path) -> None:
    """The third kill hit a pid up only 2 s (< the stable period of 5 s), yet the supervisor
    went back to the initial 0.2 s (and restarted after it)."""
    def change(doc: dict) -> None:
        r = doc["restarts"][2]
        r["killed_ms"] = r["old_pid_started_ms"] + 2000
        r["new_pid_started_ms"] = r["killed_ms"] + 250
    rewrite(run, OBS, change)


def _no_start_times(run: Path) -> None:
    rewrite(run, OBS, lambda doc: [r.pop("new_pid_started_ms") for r in doc["restarts"]])


def _restart_count(count: int) -> Callable[[Path], None]:
    def change(doc: dict) -> None:
        next(p for p in doc["status"]["processes"] if p["name"] == "signal")[
            "restart_count"] = count
    return lambda run: rewrite(run, MAN, change)


def _r(name: str, apply: Callable[[Path], None], *fails: tuple[str, str],
       disguise: str = "wrong", unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=HOLE, apply=apply,
                    unknown_ok=unknown_ok)


MUTATIONS = [
    _r("backoff delays off the declared sequence", _delays(0.2, 0.6, 0.2), DELAYS),
    _r("backoff factor ignored", _delays(0.2, 0.2, 0.2), DELAYS),
    _r("backoff never resets after the stable period", _delays(0.2, 0.4, 0.8), RESET, DELAYS),
    _r("a backoff delay missing for a kill", _delays(0.2, 0.4), DELAYS),
    _r("backoff reset before the stable period", _reset_too_early, RESET, DELAYS),
    _r("declared delays while the second restart came at once", _restart_after(60, (1,)),
       GAP, disguise="declared"),
    _r("declared delays while every restart came at once", _restart_after(40, (0, 1, 2)),
       GAP, disguise="declared"),
    Mutation("restart_count short of the harness's kills", "recorded", (("D9", "recorded"),),
             apply=_restart_count(1)),
    _r("no start time of the new pids", _no_start_times, GAP, disguise="absent",
       unknown_ok=True),
]
