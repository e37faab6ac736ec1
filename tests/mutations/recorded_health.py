"""Recorded mutations of the "health pid" and "D2 windows" holes: the good run's health polls
(observer/health.jsonl, tests/soak_checks/factory.py) as a harness would have recorded them
against a pipeline whose /health lies about pids, or whose stages are unhealthy where no fault
excuses them. Each poll holds the body's word (`stages`, `pids`) beside the harness's own
psutil view (`live_pids`, `pid_check`): the checks believe a healthy stage only when both
agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.soak_checks.factory import NEW_SIGNAL_PID, PIDS, rewrite, write_jsonl

from .catalogue import Mutation

HEALTH, OBS = "observer/health.jsonl", "harness_observations.json"
Poll = dict


def _polls(change: Callable[[Poll], None], since_s: float = 0, until_s: float = 1e9
           ) -> Callable[[Path], None]:
    """Apply `change` to every poll in [since_s, until_s) market seconds."""
    def apply(run_dir: Path) -> None:
        path = run_dir / HEALTH
        polls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for poll in polls:
            if since_s <= poll["market_s"] < until_s:
                change(poll)
        write_jsonl(path, polls)
    return apply


def _names(stage: str, pid: int | None, live: list[int], why: str) -> Callable[[Poll], None]:
    """The body calls `stage` healthy under `pid`; the harness saw `live` (and why not)."""
    def change(poll: Poll) -> None:
        poll["stages"][stage] = True
        if pid is None:
            poll["pids"].pop(stage, None)
        else:
            poll["pids"][stage] = pid
        poll["live_pids"][stage] = live
        poll["pid_check"][stage] = why
    return change


def _unhealthy(stage: str) -> Callable[[Poll], None]:
    def change(poll: Poll) -> None:
        poll["stages"][stage] = False
    return change


def _both(*applies: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(run_dir: Path) -> None:
        for one in applies:
            one(run_dir)
    return apply


def _restart(**fields: object) -> Callable[[Path], None]:
    return lambda run_dir: rewrite(run_dir, OBS, lambda doc: doc["restarts"][0].update(fields))


def _no_pid_view(poll: Poll) -> None:
    for key in ("live_pids", "pid_check"):
        poll.pop(key, None)


OLD_SIGNAL, SUPERVISOR = PIDS["signal"], 1000
D1_SERVED, D2_HEALTH, D9_RESTART = ("D1", "served until the stop"), ("D2", "stage health"), (
    "D9", "restart")


def _m(name: str, hole: str, disguise: str, apply: Callable[[Path], None],
       *fails: tuple[str, str], unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=hole, apply=apply,
                    unknown_ok=unknown_ok)


MUTATIONS = [
    # --- health pid: the body names a pid that is not the live stage process -----------------
    _m("/health keeps naming signal's killed pid after its restart", "health pid", "declared",
       _both(_polls(_names("signal", OLD_SIGNAL, [NEW_SIGNAL_PID], "gone"), since_s=190),
             _restart(healthy_again_ms=None, healthy_again_pid=None, restart_s=None)),
       D2_HEALTH, D1_SERVED, D9_RESTART),
    _m("the healthy-again poll named the killed pid", "health pid", "declared",
       _restart(healthy_again_pid=OLD_SIGNAL), D9_RESTART),
    _m("/health calls a zombie broker healthy", "health pid", "declared",
       _polls(_names("broker", PIDS["broker"], [], "a zombie"), since_s=400), D2_HEALTH,
       D1_SERVED),
    _m("/health calls harvest healthy under its pid while psutil saw it dead", "health pid",
       "declared", _polls(_names("harvest", PIDS["harvest"], [], "gone"), since_s=500),
       D2_HEALTH, D1_SERVED),
    _m("the body names the supervisor's pid as report's", "health pid", "wrong",
       _polls(_names("report", SUPERVISOR, [PIDS["report"]], "the supervisor itself"),
              since_s=300), D2_HEALTH, D1_SERVED),
    _m("/health names harvest's pid for signal", "health pid", "wrong",
       _polls(_names("signal", PIDS["harvest"], [NEW_SIGNAL_PID], "a harvest process"),
              since_s=600), D2_HEALTH, D1_SERVED),
    _m("/health names no pid for a healthy signal", "health pid", "wrong",
       _polls(_names("signal", None, [NEW_SIGNAL_PID], "the body names no pid"),
              since_s=600), D2_HEALTH, D1_SERVED),
    _m("the polls hold no pid view of the harness's own", "health pid", "absent",
       _polls(_no_pid_view), D2_HEALTH, D1_SERVED, unknown_ok=True),
    _m("the restart record names no healthy-again pid", "health pid", "absent",
       lambda run_dir: rewrite(run_dir, OBS, lambda doc: doc["restarts"][0].pop(
           "healthy_again_pid")), D9_RESTART),
    # --- D2 windows: a fault excuses only the stages it tolerates, for its for_s ---------------
    _m("broker unhealthy through the feed pause (it tolerates harvest only)", "D2 windows",
       "wrong", _polls(_unhealthy("broker"), 210, 300), D2_HEALTH),
    _m("broker unhealthy right after signal's kill (it tolerates signal only)", "D2 windows",
       "wrong", _polls(_unhealthy("broker"), 180, 210), D2_HEALTH),
    _m("signal unhealthy longer than the kill's for_s", "D2 windows", "wrong",
       _polls(_unhealthy("signal"), 190, 300), D2_HEALTH),
    _m("harvest unhealthy after the burst (no longer tolerated)", "D2 windows", "wrong",
       _polls(_unhealthy("harvest"), 600, 640), D2_HEALTH),
    _m("broker said healthy after signal's kill, its pid dead", "D2 windows", "declared",
       _polls(_names("broker", PIDS["broker"], [], "gone"), 180, 210), D2_HEALTH),
]
