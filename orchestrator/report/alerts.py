"""The five alert rules of SPEC §3, each a small state machine: inactive -> pending -> firing
-> resolved (back to inactive, ready to fire again).

Rules are evaluated once per closed (complete) minute of event time, on the minute summed over
all symbols, in minute order. A rule's condition must hold for `hold_minutes` consecutive
minutes to fire (pending meanwhile) and must be false for `resolve_minutes` consecutive minutes
to resolve. `fired_at_ms`/`resolved_at_ms` are the END of the minute that completed the hold
(event time). The precise conditions are in docs/report.md.
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.report.aggregates import MINUTE_MS, MinuteAggregate

NO_DATA = "no_data"
LOW_CONSISTENCY = "low_consistency"
STRONG_RATIO_COLLAPSE = "strong_ratio_collapse"
EXPORT_FAILING = "export_failing"
DATA_DROP = "data_drop"
RULES = (NO_DATA, LOW_CONSISTENCY, STRONG_RATIO_COLLAPSE, EXPORT_FAILING, DATA_DROP)

log = logging.getLogger("orchestrator.report.alerts")


def iso_in_tz(ms: int | None, tz: ZoneInfo) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="milliseconds")


@dataclass
class RuleState:
    """One rule's state machine."""

    rule: str
    level: str
    hold_minutes: int
    resolve_minutes: int
    state: str = "inactive"             # inactive | pending | firing
    true_run: int = 0
    false_run: int = 0
    current: dict[str, Any] | None = None   # the firing alert record

    def observe(self, holds: bool, end_ms: int, details: dict[str, Any]) -> str | None:
        """Feed one minute; returns "fired" or "resolved" on a transition."""
        if holds:
            self.true_run += 1
            self.false_run = 0
            if self.state == "firing":
                return None
            if self.true_run >= self.hold_minutes:
                self.state = "firing"
                self.current = {"rule": self.rule, "level": self.level, "state": "firing",
                                "fired_at_ms": end_ms, "resolved_at_ms": None,
                                "details": details, "resolve_details": None}
                return "fired"
            self.state = "pending"
            return None
        self.false_run += 1
        self.true_run = 0
        if self.state == "pending":
            self.state = "inactive"
        elif self.state == "firing" and self.false_run >= self.resolve_minutes:
            assert self.current is not None
            self.current.update(state="resolved", resolved_at_ms=end_ms,
                                resolve_details=details)
            self.state = "inactive"
            self.current = None
            return "resolved"
        return None

    def reset_runs(self) -> None:
        self.true_run = self.false_run = 0
        if self.state == "pending":
            self.state = "inactive"


@dataclass
class CollapseBaseline:
    """Trailing strong_ratio baseline for the collapse rule.

    Only "qualifying" minutes (total >= min_signals) that were not themselves collapsed enter
    the baseline, so a lasting collapse cannot drag the baseline down and resolve itself.
    """

    size: int
    ratios: deque[float] = field(default_factory=deque)

    def median(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    def push(self, ratio: float) -> None:
        self.ratios.append(ratio)
        while len(self.ratios) > self.size:
            self.ratios.popleft()


class AlertEngine:
    """Evaluates the five rules per closed minute and keeps every alert ever fired."""

    def __init__(self, rules_config: dict[str, dict[str, Any]], tz: str) -> None:
        """`rules_config` is the whole `report.alerts` section (`section(config, "report")`
        fills what a file leaves out from config/defaults.yaml)."""
        missing = [name for name in RULES if name not in rules_config]
        if missing:
            raise ValueError(f"report.alerts: no settings for rule(s) {', '.join(missing)}")
        cfg = {name: dict(rules_config[name]) for name in RULES}
        self.cfg = cfg
        self.tz = ZoneInfo(tz)
        self.states = {name: RuleState(name, cfg[name]["level"], int(cfg[name]["hold_minutes"]),
                                       int(cfg[name]["resolve_minutes"])) for name in RULES}
        self.baseline = CollapseBaseline(int(cfg[STRONG_RATIO_COLLAPSE]["baseline_minutes"]))
        self.history: list[dict[str, Any]] = []
        self.last_minute_ms: int | None = None
        self.queue_dropped_seen = 0

    def on_minute(self, minute: MinuteAggregate, export_failing: bool = False,
                  queue_dropped: int | None = None) -> list[dict[str, Any]]:
        """Evaluate one complete minute (all symbols summed); returns the transitions."""
        if self.last_minute_ms is not None and minute.minute_ms != self.last_minute_ms + MINUTE_MS:
            for state in self.states.values():     # a hold means consecutive minutes
                state.reset_runs()
        self.last_minute_ms = minute.minute_ms
        end_ms = minute.minute_ms + MINUTE_MS
        checks = {
            NO_DATA: (minute.total == 0, {"minute_ms": minute.minute_ms, "total": minute.total}),
            LOW_CONSISTENCY: self._low_consistency(minute),
            STRONG_RATIO_COLLAPSE: self._collapse(minute),
            EXPORT_FAILING: (export_failing, {"minute_ms": minute.minute_ms,
                                              "export_failing": export_failing}),
            DATA_DROP: self._data_drop(queue_dropped, minute.minute_ms),
        }
        events = []
        for name, (holds, details) in checks.items():
            state = self.states[name]
            record = state.current
            change = state.observe(holds, end_ms, details)
            if change == "fired":
                record = state.current
                assert record is not None
                self.history.append(record)
            if change:
                self._log(change, record)
                events.append({"event": change, **self.describe(record)})
        return events

    def _low_consistency(self, m: MinuteAggregate) -> tuple[bool, dict[str, Any]]:
        c = self.cfg[LOW_CONSISTENCY]
        share = m.low_consistency_share
        holds = m.total >= int(c["min_signals"]) and share > float(c["threshold_share"])
        return holds, {"minute_ms": m.minute_ms, "low_consistency_share": share,
                       "low_consistency": m.low_consistency, "total": m.total,
                       "threshold_share": float(c["threshold_share"])}

    def _collapse(self, m: MinuteAggregate) -> tuple[bool, dict[str, Any]]:
        c = self.cfg[STRONG_RATIO_COLLAPSE]
        median = self.baseline.median()
        qualifies = m.total >= int(c["min_signals"])
        evaluable = (qualifies and median is not None
                     and len(self.baseline.ratios) >= int(c["min_baseline_minutes"])
                     and median >= float(c["min_baseline_ratio"]))
        limit = float(c["fraction"]) * median if median is not None else None
        holds = bool(evaluable and limit is not None and m.strong_ratio < limit)
        if qualifies and not holds:
            self.baseline.push(m.strong_ratio)
        return holds, {"minute_ms": m.minute_ms, "strong_ratio": m.strong_ratio,
                       "baseline_median": median, "limit": limit, "total": m.total,
                       "fraction": float(c["fraction"]), "evaluable": bool(evaluable)}

    def _data_drop(self, queue_dropped: int | None, minute_ms: int) -> tuple[bool, dict]:
        before = self.queue_dropped_seen
        if queue_dropped is None:
            return False, {"minute_ms": minute_ms, "queue_dropped": None}
        self.queue_dropped_seen = max(before, int(queue_dropped))
        increase = int(queue_dropped) - before
        return increase > 0, {"minute_ms": minute_ms, "queue_dropped": int(queue_dropped),
                              "queue_dropped_before": before, "increase": max(increase, 0)}

    def describe(self, record: dict[str, Any]) -> dict[str, Any]:
        """The manifest / report form: ISO times in the report time zone added."""
        return {**record, "fired_at": iso_in_tz(record["fired_at_ms"], self.tz),
                "resolved_at": iso_in_tz(record["resolved_at_ms"], self.tz)}

    def alerts(self) -> list[dict[str, Any]]:
        return [self.describe(r) for r in self.history]

    def _log(self, change: str, record: dict[str, Any]) -> None:
        at = record["fired_at_ms"] if change == "fired" else record["resolved_at_ms"]
        details = record["details"] if change == "fired" else record["resolve_details"]
        log.warning("ALERT %s %s [%s] at %s: %s", record["rule"], change.upper(),
                    record["level"], iso_in_tz(at, self.tz), details)

    # ---- persistence (a restarted report stage resumes its alerts) -------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "last_minute_ms": self.last_minute_ms,
                "queue_dropped_seen": self.queue_dropped_seen,
                "baseline": list(self.baseline.ratios),
                "states": {n: {"state": s.state, "true_run": s.true_run,
                               "false_run": s.false_run,
                               "current": self.history.index(s.current) if s.current else None}
                           for n, s in self.states.items()}}

    def load_state(self, doc: dict[str, Any]) -> None:
        self.history = list(doc.get("history", []))
        self.last_minute_ms = doc.get("last_minute_ms")
        self.queue_dropped_seen = int(doc.get("queue_dropped_seen", 0))
        for ratio in doc.get("baseline", []):
            self.baseline.push(float(ratio))
        for name, saved in (doc.get("states") or {}).items():
            state = self.states.get(name)
            if state is None:
                continue
            state.state, state.true_run = saved["state"], saved["true_run"]
            state.false_run = saved["false_run"]
            index = saved.get("current")
            state.current = self.history[index] if index is not None else None
