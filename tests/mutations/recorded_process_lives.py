"""Recorded mutations of what the harness's pid tracker saw (observations `pids`): the
contract level-0 sub-checks that need no health URL and no evidence file -- D9 "new pid
alive" and "restart count", D1 "stages alive at the stop" -- shown failing on a pipeline whose
supervisor does not restart a killed stage, whose restarted stage dies again, or whose stage
crash-loops at the end."""

from __future__ import annotations

from pathlib import Path

from tests.soak_checks.factory import MINUTES, NEW_SIGNAL_PID, rewrite, wall

from .catalogue import Mutation

OBS = "harness_observations.json"
STOP_S = MINUTES * 60
ALIVE, COUNT, AT_STOP = ("D9", "new pid alive"), ("D9", "restart count"), (
    "D1", "stages alive at the stop")


def _lives(change) -> callable:  # noqa: ANN001
    def apply(run_dir: Path) -> None:
        rewrite(run_dir, OBS, lambda doc: change(doc["pids"]))
    return apply


def _no_restart_after_the_last_kill(pids: dict) -> None:
    pids["signal"] = [e for e in pids["signal"] if e["pid"] != NEW_SIGNAL_PID]


def _restarted_one_dies_again(pids: dict) -> None:
    final = next(e for e in pids["signal"] if e["pid"] == NEW_SIGNAL_PID)
    final["last_seen_ms"] = final["exit_ms"] = final["first_seen_ms"] + 300  # 9 market s
    pids["signal"].append({"pid": NEW_SIGNAL_PID + 1, "first_seen_ms": wall(STOP_S - 20),
                           "last_seen_ms": wall(STOP_S), "exit_ms": wall(STOP_S) + 250})


def _broker_restarted_near_the_stop(pids: dict) -> None:
    first = pids["broker"][0]
    first["last_seen_ms"] = first["exit_ms"] = wall(STOP_S - 30)
    pids["broker"].append({"pid": 3003, "first_seen_ms": wall(STOP_S - 25),
                           "last_seen_ms": wall(STOP_S), "exit_ms": wall(STOP_S) + 150})


def _m(name: str, apply, *fails: tuple[str, str], disguise: str = "wrong") -> Mutation:  # noqa: ANN001
    return Mutation(name, "recorded", fails, disguise=disguise, apply=apply)


MUTATIONS = [
    _m("the supervisor never restarts signal after its last kill",
       _lives(_no_restart_after_the_last_kill), ALIVE, COUNT, AT_STOP),
    _m("signal's restarted process dies again after 9 s and is restarted once more",
       _lives(_restarted_one_dies_again), ALIVE, COUNT, AT_STOP),
    _m("broker dies on its own 25 market s before the stop and is restarted",
       _lives(_broker_restarted_near_the_stop), AT_STOP),
]
