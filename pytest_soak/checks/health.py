"""D2 health: every stage healthy in >= 98 % of the harness's own polls of /health.

Computed from the harness's poll log (observations.health.samples_file, one line per poll:
{t_ms, market_s, ok, stages: {stage: healthy}, pids, live_pids, pid_check}), counting only
polls between the first all-healthy poll (start-up is not judged here) and the stop signal.
A poll counts a stage healthy only when the body says so *and* the pid it names for that
stage is one the harness saw live for that stage with psutil right after the answer
(`harness_healthy`): a body naming a killed stage's old pid, a zombie, another process or no
pid is not believed, and the check's reason names the pid and what the harness saw instead.
A stage's polls inside the window (+ its declared `for_s`, else the settle margin) of a fault
that tolerates that stage's health are not counted for it; a fault excuses only the stages its
kind names (pytest_soak/fault_kinds/: the killed stage; harvest for the feed's pause) -- a
stage SIGKILLed on purpose is not a health failure, one that stays down after that is, and
every other stage is judged through every fault. A poll that got no answer counts as
unhealthy for every stage.
In LIVE mode the pipeline's /health applies its strict freshness window, so a stale feed shows
here as not healthy.
"""

from __future__ import annotations

from pytest_soak.checks._common import interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import OBSERVATIONS, RunEvidence, tolerance_s, tolerated
from pytest_soak.health import body_only, harness_healthy
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

STAGE_HEALTH = "stage health"


def fault_spans_s(run: RunEvidence, stage: str, settle_s: float) -> list[tuple[float, float]]:
    """In market seconds from the run start, the windows of the faults that tolerate `stage`'s
    health, each widened by its toleration (for_s, else the settle margin)."""
    obs = run.observations or {}
    start_ms = (obs.get("market_clock") or {}).get("start_event_ms")
    spans = []
    for fault in run.faults:
        if stage not in tolerated(fault, "health"):
            continue
        begin, end = fault.get("planned_start_s"), fault.get("planned_end_s")
        if start_ms is not None and fault.get("start_event_ms") is not None:
            begin = (fault["start_event_ms"] - start_ms) / 1000
            if fault.get("end_event_ms") is not None:
                end = (fault["end_event_ms"] - start_ms) / 1000
        if begin is None:
            continue
        spans.append((float(begin), float(end if end is not None else begin)
                      + tolerance_s(fault, settle_s)))
    return spans


def check_D2(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D2")
    if why:
        return why
    stop = interrupted(run, "D2")
    if stop:
        return stop
    rel = obs["health"]["samples_file"]
    polls = run.samples("health")
    if not polls:
        return unknown("D2", "the harness recorded no health polls", evidence=[rel])
    stages = sorted({s for p in polls for s in (p.get("stages") or {})}
                    | set(obs["health"].get("per_stage") or {}))
    if not stages:
        return unknown("D2", "no poll named any stage", evidence=[rel])
    pipe = obs["pipeline"]
    begin, end = pipe.get("healthy_ms"), pipe.get("stop_sent_ms")
    if begin is None:
        return failed("D2", "the pipeline never became healthy", 0, t.health_min_pct, [rel])
    running = [p for p in polls if begin <= p.get("t_ms", 0) <= (end or float("inf"))]
    return combine("D2", [_stage_share(stage, _outside(run, stage, running, t), t, rel)
                          for stage in stages])


def pid_note(polls: list[dict], stage: str) -> str:
    """Why polls whose body called `stage` healthy were not believed, or "" if none."""
    doubted = [p for p in polls if body_only(p, stage)]
    if not doubted:
        return ""
    first = doubted[0]
    pid = (first.get("pids") or {}).get(stage)
    why = (first.get("pid_check") or {}).get(stage) or "not seen live"
    live = (first.get("live_pids") or {}).get(stage) or []
    return (f"; {len(doubted)} poll(s) said healthy but named pid {pid} for {stage}, which the "
            f"harness saw as {why} (live {stage} pids {live}), first at market s "
            f"{first.get('market_s')}")


def polls_after(run: RunEvidence, t_ms: int) -> list[dict]:
    """The grid polls at or after wall time `t_ms`."""
    return [p for p in run.samples("health") if p.get("t_ms", 0) >= t_ms]


def healthy_again_pid_problem(restart: dict) -> str | None:
    """A kill's healthy-again poll must have named the new pid (D9 "restart"); None if so."""
    new, old = restart.get("new_pid"), restart.get("old_pid")
    if "healthy_again_pid" not in restart:
        return (f"the restart record names no pid for the poll that saw the stage healthy "
                f"again: the body's word alone (new pid {new})")
    pid = restart["healthy_again_pid"]
    if pid == old:
        return f"healthy again only by the body's word: it named the killed pid {old}"
    if pid != new:
        return (f"the healthy-again poll named pid {pid}, not the new pid {new} the harness "
                "saw")
    return None


def _outside(run: RunEvidence, stage: str, polls: list[dict], t: Thresholds) -> list[dict]:
    """The polls that count for `stage`: outside the windows tolerating its health."""
    spans = fault_spans_s(run, stage, t.settle_s)
    return [p for p in polls if not _in_spans(p.get("market_s"), spans)]


def _in_spans(market_s: float | None, spans: list[tuple[float, float]]) -> bool:
    if market_s is None:
        return False
    return any(begin <= market_s <= end for begin, end in spans)


def _stage_share(stage: str, polls: list[dict], t: Thresholds, rel: str) -> ItemResult:
    if not polls:
        return unknown(STAGE_HEALTH, "no poll outside the windows tolerating its health",
                       threshold=t.health_min_pct, evidence=[rel], subject=stage)
    if not any("live_pids" in p for p in polls):
        return unknown(STAGE_HEALTH, "no poll holds the pids the harness saw itself (psutil): "
                       "the body's word alone is no evidence", threshold=t.health_min_pct,
                       evidence=[rel], subject=stage)
    healthy = sum(1 for p in polls if harness_healthy(p, stage))
    pct = round(healthy / len(polls) * 100, 2)
    text = (f"{stage} healthy (its pid checked) in {pct} % of {len(polls)} polls outside the "
            "windows tolerating its health")
    if pct >= t.health_min_pct:
        return passed(STAGE_HEALTH, text, pct, t.health_min_pct, [rel], subject=stage)
    return failed(STAGE_HEALTH, f"{text} (< {t.health_min_pct} %){pid_note(polls, stage)}",
                  pct, t.health_min_pct, [rel], subject=stage)


ITEM = DodItem(
    id="D2", name="health", title="every stage is healthy in the harness's own polls",
    description="The harness polls /health itself every 10 market seconds and believes a "
                "healthy stage only if the pid the body names is that stage's live process "
                "(psutil). Outside the windows (plus their declared for_s) of the faults that "
                "tolerate its health, each stage must be healthy in at least 98 % of the polls.",
    subchecks=(SubCheck(STAGE_HEALTH, "min", per="stage", level=1),),
    check=check_D2, evidence=(OBSERVATIONS, "observer/health.jsonl"), plots=("health.png",))
