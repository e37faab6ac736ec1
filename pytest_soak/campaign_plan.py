"""A campaign's plan: which seeds it runs, where their run folders go, how to replay one.

`--soak-campaign N` runs the seeds base, base+1, ... base+N-1 (base: --soak-seed, else the
schedule file's seed), so a campaign is a function of its command line: the same command runs
the same seeds, and every xdist worker, computing them on its own, agrees (the controller also
hands its seeds down, see plugin.py, for a schedule with no seed). `--soak-campaign 11,12,13`
names the seeds. Each seed is one soak with its own jittered schedule (faults.load_schedule
with that seed); every run folder goes to `<run_dir>/<campaign_id>/`, which the end of the
session merges into campaign.json (pytest_soak/campaign.py), as the merge command does for a
folder of run folders from anywhere else.

Each run folder also gets `replay.json`: the exact pytest command that replays its seed (this
session's arguments without the campaign and xdist options, plus `--soak-seed S`).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_soak.settings import SoakSettings, SoakUsageError
from pytest_soak_evidence.atomic import write_json_atomic

REPLAY_FILE = "replay.json"
# options a replay leaves out (it runs one seed, in one process): those taking a value
_DROPPED = ("--soak-campaign", "--soak-seed", "-n", "--numprocesses", "--dist",
            "--maxprocesses", "--tx")


def resolve_seeds(campaign: int | tuple[int, ...] | None, base_seed: int) -> list[int]:
    """The campaign's seeds: a list as given, a count counted up from the base seed."""
    if campaign is None:
        return []
    if isinstance(campaign, tuple):
        return list(campaign)
    return [base_seed + i for i in range(campaign)]


def plan_campaign(settings: SoakSettings, workerinput: dict, *, from_run: str | None,
                  numprocesses: int | None, dist: str | None) -> None:
    """Fill in the campaign's seeds and id (settings.seed is the schedule's by now); an xdist
    worker takes the controller's (plugin.py's pytest_configure_node hands them down)."""
    if settings.campaign is None:
        return
    if from_run:
        raise SoakUsageError("--soak-campaign runs soaks; --soak-from-run judges one folder: "
                             "give one or the other")
    if settings.worker_id is None:
        check_side_by_side(numprocesses, dist)
    settings.campaign_seeds = list(workerinput.get("soak_campaign_seeds")
                                   or resolve_seeds(settings.campaign, settings.seed))
    settings.campaign_id = workerinput.get("soak_campaign_id") or new_campaign_id()


def write_campaign_summary(terminalreporter, settings: SoakSettings) -> None:  # noqa: ANN001
    """The end of a campaign's session (the controller's, after every worker): campaign.json
    and the table. Nothing when no run folder was made (--co, every seed deselected)."""
    folder = settings.campaign_dir
    if folder is None or settings.worker_id is not None or not folder.is_dir():
        return
    from pytest_soak.campaign import summarize  # jsonschema: only when a campaign ends
    _doc, lines = summarize(folder, settings.campaign_seeds)
    terminalreporter.section(lines[0], sep="=", bold=True)
    for line in lines[1:]:
        terminalreporter.write_line(line)


def new_campaign_id() -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return f"campaign-{stamp}-{os.getpid() % 10000}"


def check_side_by_side(numprocesses: int | None, dist: str | None) -> None:
    """With xdist workers, one soak per seed needs each seed's tests on one worker."""
    if numprocesses and dist != "loadgroup":
        raise SoakUsageError(f"--soak-campaign with -n {numprocesses} needs --dist loadgroup "
                             f"(got --dist {dist}): otherwise each worker would start its own "
                             "soak of a seed for the tests it received")


def run_settings(settings: SoakSettings, seed: int) -> SoakSettings:
    """The settings of one seed's soak: its seed, and in a campaign the campaign's folder."""
    if settings.campaign_dir is None:
        return dataclasses.replace(settings, seed=seed)
    return dataclasses.replace(settings, seed=seed, run_dir=settings.campaign_dir)


def replay_argv(args: Sequence[str], seed: int, campaign_in_ini: bool) -> list[str]:
    """The pytest command line that replays one seed of this session."""
    out: list[str] = []
    rest = iter(args)
    for arg in rest:
        name = arg.split("=", 1)[0]
        if name in _DROPPED:
            if "=" not in arg:
                next(rest, None)      # the option's value is the next argument
            continue
        if arg.startswith("-n") and (arg[2:].isdigit() or arg[2:] in ("auto", "logical")):
            continue                  # -n2
        out.append(arg)
    off = ["--soak-campaign", "none"] if campaign_in_ini else []   # the ini's campaign: off
    return ["pytest", *out, "--soak-seed", str(seed), *off]


def write_replay(run_dir: Path, *, seed: int, sink: str, args: Sequence[str], cwd: Path,
                 campaign_in_ini: bool) -> Path:
    """`<run_dir>/replay.json`, written when the run starts (a run cut short has it too)."""
    argv = replay_argv(args, seed, campaign_in_ini)
    path = Path(run_dir) / REPLAY_FILE
    write_json_atomic(path, {"seed": seed, "sink": sink, "cwd": str(cwd), "argv": argv,
                             "command": shlex.join(argv)})
    return path
