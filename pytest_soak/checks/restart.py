"""D9 fault injection: a stage SIGKILLed mid-run is restarted within 12 s, restart_count and
the backoff pattern are recorded, it returns to healthy, and no event is lost.

Restart time is the harness's own: from the kill it sent to the poll that saw the stage
healthy again under a new pid. The restart policy is checked as the declared sequence over
the harness's own kills (backoff delays, kill to new pid, backoff reset: checks/backoff.py).
"No event lost" is reconciled by element over the durable market handoff (see
`_no_event_lost`).

"Healthy again" is the harness's own too: the pid the body named at that poll, checked live
by psutil, must be the new pid the harness saw (pytest_soak/health.py, checks/health.py).
"""

from __future__ import annotations

import json
from typing import Any

from pytest_soak.checks._common import interrupted, need, need_manifest
from pytest_soak.checks.backoff import backoff_delays, backoff_parts
from pytest_soak.checks.event_ids import no_event_lost
from pytest_soak.checks.health import healthy_again_pid_problem, pid_note, polls_after
from pytest_soak.checks.manifest import processes
from pytest_soak.checks.process_lives import new_pid_alive, restart_count
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import (
    MANIFEST,
    OBSERVATIONS,
    SOURCE_MANIFEST,
    RunEvidence,
    expected,
)
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

BOTH = [OBSERVATIONS, MANIFEST]
SECTIONS = ("status", "restart_backoff_pattern", "restart_policy", "harvester_metrics",
            "signal_metrics")


def check_D9(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D9")
    if why:
        return why
    stop = interrupted(run, "D9")
    if stop:
        return stop
    manifest: dict = {}
    if run.level >= 2:
        manifest, why = need_manifest(run, "D9", SECTIONS)
        if why:
            return why
    kills = [f for f in run.faults if "D9" in expected(f, "items")]
    if not kills:
        return unknown("D9", "the schedule killed no stage", evidence=[OBSERVATIONS])
    restarts = {r.get("fault_id"): r for r in obs["restarts"]}
    stages = sorted({f.get("target") for f in kills if f.get("target")})
    killed = {stage: [f for f in kills if f.get("target") == stage] for stage in stages}
    return combine("D9", ITEM.at_level(run.level, [
        ("new pid alive", lambda: [new_pid_alive(obs, f, restarts.get(f.get("id")),
                                                 list(restarts.values()), t) for f in kills]),
        ("restart count", lambda: [restart_count(obs, stage, killed[stage], restarts)
                                   for stage in stages]),
        ("restart", lambda: [_one_kill(run, f, restarts.get(f.get("id")), t) for f in kills]),
        ("recorded", lambda: [_recorded(manifest, stage, len(killed[stage]))
                              for stage in stages]),
        ("backoff delays", lambda: backoff_parts(run, manifest, obs, stages, t)),
        ("no event lost", lambda: no_event_lost(run, manifest, t, _no_event_lost))]))


def _one_kill(run: RunEvidence, fault: dict, restart: dict | None, t: Thresholds) -> ItemResult:
    name, about = "restart", f"{fault.get('target')} ({fault.get('id')})"
    if restart is None or restart.get("killed_ms") is None:
        why = fault.get("error") or "no kill recorded"
        return unknown(name, f"the kill never took effect: {why}", evidence=[OBSERVATIONS],
                       subject=about)
    new, old = restart.get("new_pid"), restart.get("old_pid")
    if new is None or new == old:
        return failed(name, f"{fault.get('target')} was never restarted after SIGKILL "
                      f"(old pid {old})", None, t.restart_max_s, [OBSERVATIONS], subject=about)
    took = restart.get("restart_s")
    if restart.get("healthy_again_ms") is None or took is None:
        note = pid_note(polls_after(run, restart["killed_ms"]), fault.get("target"))
        return failed(name, f"restarted as pid {new} but never healthy again{note}", None,
                      t.restart_max_s, [OBSERVATIONS], subject=about)
    wrong_pid = healthy_again_pid_problem(restart)
    if wrong_pid:
        return failed(name, wrong_pid, took, t.restart_max_s, [OBSERVATIONS], subject=about)
    if took > t.restart_max_s:
        return failed(name, f"healthy again {took:.2f} s after the kill (> {t.restart_max_s} s)",
                      took, t.restart_max_s, [OBSERVATIONS], subject=about)
    return passed(name, f"pid {old} -> {new}, healthy again in {took:.2f} s", took,
                  t.restart_max_s, [OBSERVATIONS], subject=about)


def _recorded(manifest: dict, stage: str, kills: int) -> ItemResult:
    name = "recorded"
    proc = processes(manifest).get(stage)
    count = proc.get("restart_count") if proc else None
    delays = backoff_delays(manifest, stage)
    if not isinstance(count, int) or count < kills:
        return failed(name, f"manifest restart_count of {stage} is {count}, the harness killed "
                      f"it {kills} time(s)", count, kills, [MANIFEST], subject=stage)
    if not delays:
        return failed(name, f"restart_backoff_pattern holds no delay for {stage}", None, kills,
                      [MANIFEST], subject=stage)
    return passed(name, f"restart_count {count}, backoff {delays}", count, kills, [MANIFEST],
                  subject=stage)


def _ids(section: Any) -> dict | None:
    ids = (section or {}).get("aggtrade_ids") if isinstance(section, dict) else None
    return ids if isinstance(ids, dict) else None


def handoff_aggtrade_ids(run: RunEvidence) -> dict[str, list[int]] | None:
    """Per symbol, the aggTrade ids durably in handoff/market (what harvest handed on)."""
    segments = sorted((run.run_dir / "handoff" / "market").glob("*.jsonl"))
    if not segments:
        return None
    out: dict[str, list[int]] = {}
    for seg in segments:
        with open(seg, "rb") as handle:
            for line in handle:
                if b'"aggTrade"' not in line or not line.endswith(b"\n"):
                    continue
                try:
                    data = json.loads(line).get("data") or {}
                except ValueError:
                    continue
                if data.get("e") == "aggTrade" and isinstance(data.get("a"), int):
                    out.setdefault(str(data.get("s")), []).append(data["a"])
    return out


def _no_event_lost(run: RunEvidence, manifest: dict) -> ItemResult:
    """Element reconciliation over the market handoff.

    harvest's claim (accepted ids) must match the durable log, and every id in the log up to
    the last one signal consumed must have been consumed exactly once. Ids after that are
    still durably in the log (signal stops before harvest at shutdown): pending, not lost.
    """
    accepted = _ids(manifest.get("harvester_metrics"))
    consumed = _ids(manifest.get("signal_metrics"))
    evidence = [MANIFEST, "handoff/market"]
    if accepted is None or consumed is None:
        return unknown("no event lost", "harvester_metrics/signal_metrics carry no aggtrade_ids "
                       "to reconcile", evidence=evidence)
    durable = handoff_aggtrade_ids(run)
    if durable is None:
        return unknown("no event lost", "no handoff/market log to reconcile with",
                       evidence=evidence)
    if not any(durable.values()):
        return unknown("no event lost", "harvest handed on no aggTrade", evidence=evidence)
    problems, pending = [], 0
    for symbol, ids in sorted(durable.items()):
        unique = sorted(set(ids))
        claim = accepted.get(symbol) or {}
        if claim.get("count") != len(unique):
            problems.append(f"{symbol}: harvest claims {claim.get('count')} accepted, "
                            f"the handoff holds {len(unique)}")
        got = consumed.get(symbol) or {}
        upto = [i for i in unique if i <= got.get("last", -1)]
        if got.get("count") != len(upto) or (upto and got.get("first") != upto[0]):
            problems.append(f"{symbol}: {len(upto)} ids in the handoff up to {got.get('last')}, "
                            f"signal consumed {got.get('count')}")
        pending += len(unique) - len(upto)
    total = sum(len(set(v)) for v in durable.values())
    if problems:
        return failed("no event lost", "; ".join(problems[:3]), len(problems), 0, evidence)
    return passed("no event lost", f"all {total} aggTrades accounted for: consumed once each, "
                  f"{pending} still durable in the handoff after signal stopped", total, total,
                  evidence)


ITEM = DodItem(
    id="D9", name="fault injection",
    title="a SIGKILLed stage comes back quickly and loses nothing",
    description="A stage SIGKILLed mid-run must come back under a new pid and be healthy "
                "within 12 s, its restarts recorded and following the declared backoff, with "
                "no event lost.",
    subchecks=(SubCheck("new pid alive", "min", per="kill", level=0),
               SubCheck("restart count", "eq", per="stage", level=0),
               SubCheck("restart", "max", per="kill", level=1),
               SubCheck("recorded", "min", per="stage"),
               SubCheck("backoff delays", "max", per="stage"),
               SubCheck("kill to new pid", "min", per="kill"),
               SubCheck("backoff reset", per="stage"), SubCheck("no event lost")),
    check=check_D9, evidence=(*BOTH, SOURCE_MANIFEST), plots=("health.png", "rss.png"))
