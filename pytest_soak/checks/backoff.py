"""D9's restart policy sub-checks: the supervisor's backoff against the declared sequence.

The declared policy is the configuration the harness handed the pipeline (its own
harness/pipeline_config.yaml; else the config snapshot in source_manifest.json, else the
manifest's restart_policy): `supervisor.restart` {initial_delay_s, factor, max_delay_s,
stable_after_s} and the supervisor's tick `supervisor.tick_s`.

The declared sequence is walked over the harness's own kills of a stage, in order: the n-th
restart in a row waits min(max_delay_s, initial_delay_s * factor**(n-1)); a kill of a process
that had been up for at least stable_after_s starts the row again at initial_delay_s. Uptime
is the harness's: its kill time minus the killed pid's start (psutil). Within one floor of the
stable period either decision is accepted (the supervisor's uptime runs from Popen's return
to the tick that saw the exit, the harness's from the fork to the kill).

- `backoff delays` (per stage): each delay in restart_backoff_pattern is the declared one
  within max(backoff_rel_tolerance * delay, floor); one delay per kill; not given up before
  max_restarts.
- `kill to new pid` (per kill): the harness's own gap from its SIGKILL to the new pid's start
  (psutil create_time) is at least the declared delay minus the floor: a supervisor that
  restarts faster than it says is caught whatever it writes.
- `backoff reset` (per stage killed twice or more): the row starts again only after the
  stable period, and does once the stage was up that long.

floor = the declared supervisor tick (the supervisor sees an exit and a due restart only on a
tick), else Thresholds.backoff_floor_s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from pytest_soak.checks._common import dig
from pytest_soak.checks.manifest import processes
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, SOURCE_MANIFEST, RunEvidence
from pytest_soak.verdict import ItemResult, failed, passed, unknown

HARNESS_CONFIG = "harness/pipeline_config.yaml"
POLICY_KEYS = ("initial_delay_s", "factor", "max_delay_s", "stable_after_s")


def _harness_config(run: RunEvidence) -> dict:
    try:
        doc = yaml.safe_load((run.run_dir / HARNESS_CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def declared_supervisor(run: RunEvidence, manifest: dict) -> tuple[dict | None, Any, str]:
    """(restart policy, tick_s, where from): the harness's own config first."""
    sources = ((_harness_config(run), "supervisor", HARNESS_CONFIG),
               (run.source_manifest or {}, "config_snapshot.supervisor", SOURCE_MANIFEST))
    for doc, path, name in sources:
        sup = dig(doc, path)
        if isinstance(sup, dict) and isinstance(sup.get("restart"), dict) \
                and all(k in sup["restart"] for k in POLICY_KEYS):
            return sup["restart"], sup.get("tick_s"), name
    policy = manifest.get("restart_policy")
    if isinstance(policy, dict) and all(k in policy for k in POLICY_KEYS):
        return policy, None, f"{MANIFEST} restart_policy"
    return None, None, ""


def backoff_delays(manifest: dict, stage: str) -> list[float] | None:
    """The delays the supervisor applied to `stage`, from restart_backoff_pattern."""
    pattern = manifest.get("restart_backoff_pattern")
    if isinstance(pattern, dict):
        pattern = pattern.get(stage)
    elif isinstance(pattern, list) and pattern and isinstance(pattern[0], dict):
        pattern = [p for p in pattern if p.get("stage") == stage]
    if not isinstance(pattern, list):
        return None
    out = []
    for entry in pattern:
        if isinstance(entry, int | float):
            out.append(float(entry))
        elif isinstance(entry, dict):
            delay = entry.get("delay_s", entry.get("delay"))
            if isinstance(delay, int | float):
                out.append(float(delay))
    return out


@dataclass
class Step:
    """One kill of a stage in the declared sequence."""

    restart: dict
    uptime_s: float | None
    declared: float            # the delay the policy asks for (the lenient one in the band)
    continued: float           # the delay had the row not been reset
    reset_due: bool
    may_reset: bool
    recorded: float | None = None


class Sequence:
    def __init__(self, policy: dict, floor: float, rel: float) -> None:
        self.initial = float(policy["initial_delay_s"])
        self.factor = float(policy["factor"])
        self.cap = float(policy["max_delay_s"])
        self.stable = float(policy["stable_after_s"])
        self.floor, self.rel = floor, rel

    def tolerance(self, delay: float) -> float:
        return max(self.rel * delay, self.floor)

    def matches(self, recorded: float, delay: float) -> bool:
        return abs(recorded - delay) <= self.tolerance(delay)

    def walk(self, kills: list[dict], uptimes: list[float | None],
             recorded: list[float]) -> list[Step]:
        steps, row = [], 0          # row: restarts in a row so far
        for i, (kill, up) in enumerate(zip(kills, uptimes, strict=True)):
            cont = min(self.cap, self.initial * self.factor ** row)
            reset_due = up is not None and up >= self.stable + self.floor
            may_reset = row == 0 or (up is not None and up >= self.stable - self.floor)
            options = {self.initial: 1} if reset_due else {cont: row + 1}
            if may_reset:
                options[self.initial] = 1
            got = recorded[i] if i < len(recorded) else None
            pick = next((d for d in options if got is not None and self.matches(got, d)),
                        min(options))
            steps.append(Step(kill, up, pick, cont, reset_due, may_reset, got))
            row = options[pick]
        return steps


def _uptime(restart: dict, pids: list[dict]) -> float | None:
    """The killed pid's uptime by the harness's clocks: psutil start, else first sighting."""
    start = restart.get("old_pid_started_ms")
    if start is None:
        start = next((p.get("first_seen_ms") for p in pids if p.get("pid") ==
                      restart.get("old_pid")), None)
    killed = restart.get("killed_ms")
    return None if start is None or killed is None else (killed - start) / 1000


def stage_steps(obs: dict, manifest: dict, stage: str, seq: Sequence) -> tuple[list[Step],
                                                                              list[float]]:
    kills = sorted((r for r in obs.get("restarts") or [] if r.get("stage") == stage
                    and r.get("killed_ms") is not None), key=lambda r: r["killed_ms"])
    pids = (obs.get("pids") or {}).get(stage) or []
    recorded = backoff_delays(manifest, stage) or []
    return seq.walk(kills, [_uptime(k, pids) for k in kills], recorded), recorded


def _fmt(delays: list[float]) -> str:
    return "[" + ", ".join(f"{d:g}" for d in delays) + "]"


def delays_part(stage: str, steps: list[Step], recorded: list[float], seq: Sequence,
                proc: dict, policy: dict, where: str) -> ItemResult:
    name, ev = "backoff delays", [MANIFEST, OBSERVATIONS, where]
    if not steps:
        return unknown(name, "the harness recorded no kill of this stage to judge its delays "
                       "against", evidence=ev, subject=stage)
    problems = []
    if len(recorded) != len(steps):
        problems.append(f"{len(recorded)} delay(s) recorded for {len(steps)} kill(s)")
    worst = 0.0
    for n, step in enumerate(steps, 1):
        if step.recorded is None:
            continue
        # value: the worst deviation as a share of its tolerance (limit 1)
        worst = max(worst, abs(step.recorded - step.declared) / seq.tolerance(step.declared))
        if not seq.matches(step.recorded, step.declared):
            problems.append(f"restart {n}: {step.recorded:g} s, declared {step.declared:g} s "
                            f"(+-{seq.tolerance(step.declared):g} s)")
    limit = policy.get("max_restarts")
    if proc.get("gave_up") and isinstance(limit, int) and proc.get("restart_count", 0) < limit:
        problems.append(f"given up after {proc.get('restart_count')} restart(s), the policy "
                        f"allows {limit}")
    declared = _fmt([s.declared for s in steps])
    if problems:
        return failed(name, f"{'; '.join(problems[:3])}; declared {declared}", round(worst, 3),
                      1.0, ev, subject=stage)
    return passed(name, f"delays {_fmt(recorded)} = declared {declared} within max("
                  f"{seq.rel:g} x delay, {seq.floor:g} s) (policy from {where})",
                  round(worst, 3), 1.0, ev, subject=stage)


def gap_part(step: Step, seq: Sequence) -> ItemResult:
    r = step.restart
    name, about = "kill to new pid", f"{r.get('stage')} ({r.get('fault_id')})"
    started, want = r.get("new_pid_started_ms"), round(step.declared - seq.floor, 3)
    if r.get("new_pid") is None or started is None:
        return unknown(name, "no start time (psutil) of a new pid recorded for this kill",
                       None, want, [OBSERVATIONS], subject=about)
    gap = round((started - r["killed_ms"]) / 1000, 3)
    if gap < want:
        return failed(name, f"pid {r.get('new_pid')} started {gap:g} s after the kill: faster "
                      f"than the declared {step.declared:g} s delay (- {seq.floor:g} s)", gap,
                      want, [OBSERVATIONS], subject=about)
    return passed(name, f"pid {r.get('new_pid')} started {gap:g} s after the kill (declared "
                  f"delay {step.declared:g} s)", gap, want, [OBSERVATIONS], subject=about)


def reset_part(stage: str, steps: list[Step], seq: Sequence) -> ItemResult | None:
    """None when the stage was killed once (no decision to judge)."""
    if len(steps) < 2:
        return None
    name, ev = "backoff reset", [MANIFEST, OBSERVATIONS]
    problems, kept, reset = [], 0, 0
    for n, step in enumerate(steps[1:], 2):
        if step.recorded is None:
            continue
        if step.uptime_s is None:
            old = step.restart.get("old_pid")
            return unknown(name, f"restart {n}: no start time of the killed pid {old} (psutil "
                           "or a sighting): its uptime is unknown", evidence=ev, subject=stage)
        is_reset = seq.matches(step.recorded, seq.initial) and not seq.matches(
            step.recorded, step.continued)
        if is_reset and not step.may_reset:
            problems.append(f"restart {n}: back to {step.recorded:g} s after {step.uptime_s:.2f} "
                            f"s up, before the stable period ({seq.stable:g} s)")
        elif step.reset_due and not seq.matches(step.recorded, seq.initial):
            problems.append(f"restart {n}: {step.recorded:g} s after {step.uptime_s:.2f} s up: "
                            f"no reset to {seq.initial:g} s after the stable period "
                            f"({seq.stable:g} s)")
        kept += not step.reset_due and not is_reset
        reset += step.reset_due
    if problems:
        return failed(name, "; ".join(problems[:3]), len(problems), 0, ev, subject=stage)
    return passed(name, f"{kept} restart(s) inside the stable period ({seq.stable:g} s) kept "
                  f"the row, {reset} after it reset to {seq.initial:g} s", 0, 0, ev,
                  subject=stage)


def backoff_parts(run: RunEvidence, manifest: dict, obs: dict, stages: list[str],
                  t: Thresholds) -> list[ItemResult]:
    policy, tick, where = declared_supervisor(run, manifest)
    names = ("backoff delays", "kill to new pid", "backoff reset")
    if policy is None:
        return [unknown(n, "no declared restart policy (supervisor.restart) in the harness's "
                        "config, the config snapshot or the manifest",
                        evidence=[HARNESS_CONFIG, SOURCE_MANIFEST, MANIFEST]) for n in names]
    floor = float(tick) if isinstance(tick, int | float) and tick > 0 else t.backoff_floor_s
    seq = Sequence(policy, floor, t.backoff_rel_tolerance)
    parts: list[ItemResult] = []
    resets = []
    for stage in stages:
        steps, recorded = stage_steps(obs, manifest, stage, seq)
        proc = processes(manifest).get(stage) or {}
        parts.append(delays_part(stage, steps, recorded, seq, proc, policy, where))
        parts += [gap_part(s, seq) for s in steps]
        resets.append(reset_part(stage, steps, seq))
    if not any(p.item == "kill to new pid" for p in parts):
        parts.append(unknown("kill to new pid", "no kill of the harness was recorded",
                             evidence=[OBSERVATIONS]))
    resets = [r for r in resets if r is not None]
    parts += resets or [unknown("backoff reset", "no stage was killed twice: neither the "
                                "factor nor the reset after the stable period was exercised",
                                evidence=[OBSERVATIONS])]
    return parts
