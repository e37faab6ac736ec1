"""What the harness's own pid tracker says about the stage processes' lives (contract level 0).

The observer names each process by stage from its command line (the spec's `stage_regex`)
and records every life: pid, first and last seen, exit (observations `pids`). From that alone,
with no health URL and no evidence file, the harness judges:

- D9 "new pid alive": after each of its kills, the stage has a new pid within the restart
  bound, and that pid lives `new_pid_alive_s` market seconds (or until the harness's next kill
  of it, or the stop);
- D9 "restart count": a stage's lives started after the first kill and before the stop are as
  many as the harness's kills of it (fewer: a kill was not followed by a restart; more: the
  stage died without the harness);
- D1 "stages alive at the stop": every stage has a process alive when the stop is sent, and
  none was restarted within the last settle period (a crash-looping stage is not serving).
"""

from __future__ import annotations

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import OBSERVATIONS
from pytest_soak.verdict import ItemResult, failed, passed, unknown

ALIVE, COUNT, AT_STOP = "new pid alive", "restart count", "stages alive at the stop"


def lives(obs: dict, stage: str) -> list[dict]:
    """The stage's process lives before the stop signal, in order of appearance (a process
    that appears after it is a post-run helper, not a life of the stage)."""
    stop = (obs.get("pipeline") or {}).get("stop_sent_ms") or float("inf")
    entries = [e for e in (obs.get("pids") or {}).get(stage) or []
               if (e.get("first_seen_ms") or 0) < stop]
    return sorted(entries, key=lambda e: e.get("first_seen_ms") or 0)


def _end_ms(entry: dict) -> float:
    return entry.get("exit_ms") or entry.get("last_seen_ms") or float("inf")


def new_pid_alive(obs: dict, fault: dict, restart: dict | None, restarts: list[dict],
                  t: Thresholds) -> ItemResult:
    about = f"{fault.get('target')} ({fault.get('id')})"
    speed = float(obs.get("speed") or 1)
    if restart is None or restart.get("killed_ms") is None:
        return unknown(ALIVE, f"the kill never took effect: {fault.get('error') or 'no kill'}",
                       evidence=[OBSERVATIONS], subject=about)
    killed, old = restart["killed_ms"], restart.get("old_pid")
    new = next((e for e in lives(obs, str(fault.get("target")))
                if e["pid"] != old and (e.get("first_seen_ms") or 0) >= killed), None)
    if new is None:
        return failed(ALIVE, f"no new pid for {fault.get('target')} after the SIGKILL of {old}",
                      None, t.new_pid_alive_s, [OBSERVATIONS], subject=about)
    after_s = (new["first_seen_ms"] - killed) / 1000
    if after_s > t.restart_max_s:
        return failed(ALIVE, f"new pid {new['pid']} only {after_s:.2f} s after the kill (> "
                      f"{t.restart_max_s} s)", 0, t.new_pid_alive_s, [OBSERVATIONS],
                      subject=about)
    lived_s = round((_end_ms(new) - new["first_seen_ms"]) / 1000 * speed, 1)
    ended_by = _ended_by_harness(new, obs, restarts)
    text = (f"pid {old} -> {new['pid']} {after_s:.2f} s after the kill, alive "
            f"{'until ' + ended_by if ended_by else f'{lived_s} market s'}")
    if ended_by or lived_s >= t.new_pid_alive_s:
        return passed(ALIVE, text, min(lived_s, t.new_pid_alive_s), t.new_pid_alive_s,
                      [OBSERVATIONS], subject=about)
    return failed(ALIVE, f"{text}: it died again before {t.new_pid_alive_s:g} market s", lived_s,
                  t.new_pid_alive_s, [OBSERVATIONS], subject=about)


def _ended_by_harness(entry: dict, obs: dict, restarts: list[dict]) -> str | None:
    """'the stop' or 'the next kill' when the harness itself ended this life."""
    stop = (obs.get("pipeline") or {}).get("stop_sent_ms")
    if any(r.get("old_pid") == entry["pid"] for r in restarts):
        return "the harness's next kill"
    if entry.get("exit_ms") is None or (stop is not None and entry["exit_ms"] >= stop):
        return "the stop"
    return None


def restart_count(obs: dict, stage: str, kills: list[dict], restarts: dict) -> ItemResult:
    times = [restarts[f["id"]]["killed_ms"] for f in kills
             if (restarts.get(f.get("id")) or {}).get("killed_ms") is not None]
    if not times:
        return unknown(COUNT, f"no kill of {stage} took effect", evidence=[OBSERVATIONS],
                       subject=stage)
    later = [e for e in lives(obs, stage) if (e.get("first_seen_ms") or 0) >= min(times)]
    text = f"{len(later)} new process(es) of {stage} for {len(times)} kill(s)"
    if len(later) == len(times):
        return passed(COUNT, text, len(later), len(times), [OBSERVATIONS], subject=stage)
    why = ("a kill was not followed by a restart" if len(later) < len(times)
           else "the stage also died without the harness")
    return failed(COUNT, f"{text}: {why}", len(later), len(times), [OBSERVATIONS],
                  subject=stage)


def stages_alive_at_stop(obs: dict, stages: list[str], t: Thresholds) -> ItemResult:
    stop = (obs.get("pipeline") or {}).get("stop_sent_ms")
    if stop is None:
        return unknown(AT_STOP, "the harness sent no stop signal", evidence=[OBSERVATIONS])
    speed = float(obs.get("speed") or 1)
    settle_ms = t.settle_s / speed * 1000
    problems, ages = [], []
    for stage in stages:
        seen = lives(obs, stage)
        alive = [e for e in seen if _end_ms(e) >= stop]
        if not alive:
            problems.append(f"{stage} has no live process at the stop")
            continue
        age_s = (stop - alive[-1]["first_seen_ms"]) / 1000 * speed
        ages.append(age_s)
        if alive[-1] is not seen[0] and stop - alive[-1]["first_seen_ms"] < settle_ms:
            problems.append(f"{stage} was restarted {age_s:.0f} market s before the stop "
                            f"(< the {t.settle_s:g} s settle period)")
    value = round(min(ages), 1) if ages else None
    if problems:
        return failed(AT_STOP, "; ".join(problems), value, t.settle_s, [OBSERVATIONS])
    return passed(AT_STOP, f"every stage alive at the stop, none restarted in the last "
                  f"{t.settle_s:g} market s", value, t.settle_s, [OBSERVATIONS])
