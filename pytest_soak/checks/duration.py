"""D1 duration: the run covered the requested market minutes and ended by a graceful stop, exit 0.

Measured by the harness: the feed's event clock at market second 0 and when the stop was
sent (observations.market_clock), its own health polls up to the stop (the pipeline must
still be serving then, not only have been started: every stage healthy with the pid the body
names checked live by psutil, pytest_soak/health.py), and the supervisor's exit code as the
harness's Popen saw it.
"""

from __future__ import annotations

from pytest_soak.checks._common import interrupted, need
from pytest_soak.checks.health import pid_note
from pytest_soak.checks.process_lives import AT_STOP, stages_alive_at_stop
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import OBSERVATIONS, RunEvidence
from pytest_soak.health import harness_healthy
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

GRACEFUL_SIGNALS = {"SIGINT", "SIGTERM", "CTRL_BREAK_EVENT", "CTRL_C_EVENT"}


def check_D1(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D1")
    if why:
        return why
    stop = interrupted(run, "D1")
    if stop:
        return stop
    stages = list(run.contract.stages or (obs.get("pids") or {}))
    return combine("D1", ITEM.at_level(run.level, [
        ("market minutes", lambda: _covered(obs, t)),
        (AT_STOP, lambda: stages_alive_at_stop(obs, stages, t)),
        ("served until the stop", lambda: _served_until_stop(run, obs, t)),
        ("graceful exit", lambda: _graceful_exit(obs))]))


def _covered(obs: dict, t: Thresholds) -> ItemResult:
    clock = obs["market_clock"]
    start, end = clock.get("start_event_ms"), clock.get("end_event_ms")
    wanted_s = float(obs["minutes"]) * 60
    if start is None or end is None:
        return unknown("market minutes", "the harness never read the feed's market clock",
                       threshold=wanted_s / 60, evidence=[OBSERVATIONS])
    covered_s = (end - start) / 1000
    # the threshold is the bound itself (the request less the tolerance), so the headroom
    # in dod.json says how close the run came to falling short
    value, wanted = round(covered_s / 60, 3), obs["minutes"]
    threshold = round((wanted_s - t.duration_tolerance_s) / 60, 3)
    if covered_s + t.duration_tolerance_s >= wanted_s:
        return passed("market minutes", f"covered {value} of {wanted} market minutes",
                      value, threshold, [OBSERVATIONS])
    return failed("market minutes", f"covered only {value} of {wanted} market minutes "
                  f"(tolerance {t.duration_tolerance_s} s)", value, threshold, [OBSERVATIONS])


def _served_until_stop(run: RunEvidence, obs: dict, t: Thresholds) -> ItemResult:
    """The pipeline was up (every stage healthy) until the harness's stop, not only started:
    a pipeline that quits early on its own timer has not lasted the requested minutes."""
    rel = obs["health"]["samples_file"]
    stop = obs["pipeline"].get("stop_sent_ms")
    polls = [p for p in run.samples("health") if stop is None or p.get("t_ms", 0) <= stop]
    healthy = [p for p in polls if _all_healthy(p)]
    if stop is None or not healthy:
        said = [p for p in polls if (p.get("stages") or {}) and all(p["stages"].values())]
        why = (f" ({len(said)} said so, none with every pid checked live)"
               if said and not healthy else "")
        return unknown("served until the stop", "no all-healthy poll before a stop signal"
                       + why, evidence=[rel])
    gap_s = round((stop - healthy[-1]["t_ms"]) / 1000 * float(obs.get("speed") or 1), 1)
    text = f"last all-healthy poll (pids checked) {gap_s} market s before the stop"
    if gap_s <= t.stop_gap_s:
        return passed("served until the stop", text, gap_s, t.stop_gap_s, [rel])
    later = [p for p in polls if p["t_ms"] > healthy[-1]["t_ms"]]
    notes = "".join(pid_note(later, stage) for stage in sorted(later[-1].get("stages") or {})
                    ) if later else ""
    return failed("served until the stop", f"{text} (> {t.stop_gap_s} s): the pipeline stopped "
                  f"serving before the requested minutes were up{notes}", gap_s, t.stop_gap_s,
                  [rel])


def _all_healthy(poll: dict) -> bool:
    """Every stage the poll names is healthy for the harness (its pid checked live)."""
    stages = poll.get("stages") or {}
    return bool(stages) and all(harness_healthy(poll, stage) for stage in stages)


def _graceful_exit(obs: dict) -> ItemResult:
    pipe = obs["pipeline"]
    code, signal = pipe.get("exit_code"), pipe.get("stop_signal")
    value = {"exit_code": code, "stop_signal": signal}
    if pipe.get("started_ms") is None:
        return unknown("graceful exit", "the pipeline was never started", value, 0,
                       [OBSERVATIONS])
    if code is None:
        return failed("graceful exit", f"the supervisor never exited by itself "
                      f"(stop signal {signal})", value, 0, [OBSERVATIONS])
    if signal is not None and signal not in GRACEFUL_SIGNALS:
        return failed("graceful exit", f"stopped with {signal}, not a graceful signal "
                      f"(exit code {code})", value, 0, [OBSERVATIONS])
    if code != 0:
        return failed("graceful exit", f"supervisor exit code {code}, expected 0", value, 0,
                      [OBSERVATIONS])
    how = f"after {signal}" if signal else "at the end of --minutes"
    return passed("graceful exit", f"exit code 0 {how}", value, 0, [OBSERVATIONS])


ITEM = DodItem(
    id="D1", name="duration",
    title="the run lasts the requested minutes and ends by a graceful stop",
    description="The harness asked for a number of market minutes; it reads the feed's event "
                "clock at the start and at the stop, and the supervisor's exit code after "
                "SIGINT.",
    subchecks=(SubCheck("market minutes", "min", level=0), SubCheck(AT_STOP, level=0),
               SubCheck("served until the stop", "max", level=1),
               SubCheck("graceful exit", level=0)),
    check=check_D1, evidence=(OBSERVATIONS,))
