"""D3's grace formula: where, in event time, a fault lets one alert rule fire and resolve.

A rule is evaluated once per closed minute and stamped with that minute's END, so every
`fired_at_ms` / `resolved_at_ms` is a minute boundary. The rule fires after its condition held
`hold_minutes` closed minutes in a row and resolves after it failed `resolve_minutes` in a row.
Those two numbers are the rule's own duration, read from the report stage's rule config as the
HARNESS rendered it and handed it to the pipeline (harness/pipeline_config.yaml, the
declaration; never the pipeline's own snapshot of it).

A fault window [s, e] (event ms) lets its rule's condition hold only in the minutes
    C = [floor(s - late), floor(e + after + late) + 1 min)
where floor() is the minute start (the alignment: a window starts and ends anywhere inside a
minute, the minute holding either edge may already or still hold), `after` is 0 for a fault
that EXPECTS the rule and the fault's toleration (`tolerates.for_s`, else the run's
settle_s) for one that only TOLERATES it, and
    late = report.lateness_s + report.status_poll_s x speed + alert_lag_s
is the report's lateness in market seconds: a minute closes lateness_s of event time after its
end, the wall-timed inputs (harvest's queue counter, the exporter's state) are read through a
status cache of status_poll_s wall seconds, and alert_lag_s (thresholds.py) covers the
handoff's processing lag and the signal stage's trailing windows. Hence:
    fired_at    in [C.start + hold_minutes, C.end]
    resolved_at in (fired_at, C.end + resolve_minutes]
A second firing of the rule before that resolve bound (and not inside another such window's
fire range) is a flap: exactly one firing per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import RunEvidence, Window, excuses, expected, tolerance_s

MINUTE_MS = 60_000
PIPELINE_CONFIG = "harness/pipeline_config.yaml"


def floor_minute(ms: float) -> int:
    return int(ms // MINUTE_MS * MINUTE_MS)


@dataclass(frozen=True)
class RuleTiming:
    hold_min: int
    resolve_min: int


@dataclass(frozen=True)
class Timing:
    """The run's declared alert timing: the report's lateness and each rule's duration."""

    late_ms: int
    rules: dict[str, RuleTiming]
    formula: str

    def of(self, rule: str) -> RuleTiming | None:
        return self.rules.get(rule)


@dataclass(frozen=True)
class Span:
    """Where one fault window lets `rule` fire (fire_lo..fire_hi) and must see it resolved."""

    window: Window
    rule: str
    expecting: bool
    fire_lo: int
    fire_hi: int
    resolve_hi: int

    @property
    def fault_id(self) -> str:
        return str(self.window.fault.get("id"))

    def holds_fire(self, fired_ms: int | None) -> bool:
        return fired_ms is not None and self.fire_lo <= fired_ms <= self.fire_hi

    def around(self, fired_ms: int | None, others: list[Span]) -> bool:
        """A firing this window must answer for: in its fire range, or later but before its
        resolve bound and in no other window's fire range (a second firing then is a flap)."""
        if fired_ms is None or not self.fire_lo <= fired_ms <= self.resolve_hi:
            return False
        return self.holds_fire(fired_ms) or not any(
            o.holds_fire(fired_ms) for o in others if o is not self)


def _config(run: RunEvidence) -> tuple[dict | None, str]:
    path = run.run_dir / PIPELINE_CONFIG
    if not path.exists():
        return None, f"{PIPELINE_CONFIG} is missing (the rule config the harness declared)"
    try:
        import yaml
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{PIPELINE_CONFIG} is unreadable: {type(exc).__name__}: {exc}"
    return (doc, "") if isinstance(doc, dict) else (None, f"{PIPELINE_CONFIG} is not a mapping")


def declared_report(run: RunEvidence) -> tuple[dict | None, str]:
    """The `report` section of the config the harness declared, or why it cannot be had."""
    config, why = _config(run)
    if config is None:
        return None, why
    report = config.get("report")
    return (report, "") if isinstance(report, dict) else (None, f"{PIPELINE_CONFIG}: no report")


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return float(value) if ok else None


def declared_timing(run: RunEvidence, speed: float, t: Thresholds) -> tuple[Timing | None, str]:
    """The timing of the report's rules as declared, or why it cannot be had."""
    config, why = _config(run)
    if config is None:
        return None, why
    report = config.get("report") if isinstance(config.get("report"), dict) else {}
    lateness, poll = _number(report.get("lateness_s")), _number(report.get("status_poll_s"))
    if lateness is None or poll is None:
        return None, f"{PIPELINE_CONFIG}: report.lateness_s / report.status_poll_s not declared"
    rules: dict[str, RuleTiming] = {}
    for rule, cfg in (report.get("alerts") or {}).items():
        hold = _number((cfg or {}).get("hold_minutes"))
        resolve = _number((cfg or {}).get("resolve_minutes"))
        if hold and resolve:
            rules[str(rule)] = RuleTiming(int(hold), int(resolve))
    late_s = lateness + poll * speed + t.alert_lag_s
    formula = (f"late = {lateness:g} + {poll:g} x {speed:g} + {t.alert_lag_s:g} = {late_s:g} s")
    return Timing(round(late_s * 1000), rules, formula), ""


def span(window: Window, rule: str, rt: RuleTiming, late_ms: int, settle_s: float) -> Span:
    expecting = rule in expected(window.fault, "alerts")
    after_ms = 0.0 if expecting else tolerance_s(window.fault, settle_s) * 1000
    start = floor_minute(window.start_ms - late_ms)
    end = floor_minute(window.end_ms + after_ms + late_ms) + MINUTE_MS
    return Span(window, rule, expecting, start + rt.hold_min * MINUTE_MS, end,
                end + rt.resolve_min * MINUTE_MS)


def spans(run: RunEvidence, rule: str, timing: Timing, t: Thresholds) -> list[Span]:
    """One span per recorded fault window that expects or tolerates `rule`."""
    rt = timing.of(rule)
    if rt is None:
        return []
    return [span(w, rule, rt, timing.late_ms, t.settle_s) for w in run.windows()
            if excuses(w.fault, "alerts", rule)]
