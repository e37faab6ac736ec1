"""D3's "alert notifications": the live alert path's Alertmanager notifications (as the
harness's webhook received them, harness/alert_notifications.jsonl) against the report stage's
own alerts (run_manifest.alerts). Judged only when the alert path ran (LIVE, or
--soak-alert-path); otherwise the sub-check is absent (its `when`).

For each alert the manifest records of a rule some confirmed fault induced (expects), in
order of firing: a notification holding that rule's alert as firing, received within
    [fired - lead, fired + fire_delay]
and after it one holding it as resolved, received by  resolved + resolve_delay,
where fired / resolved are the manifest's event-time stamps (minute ends) on the wall clock
(market_clock: start_wall + (event - start_event) / speed), and, in wall seconds,
    late          = the report's declared lateness (checks/alert_windows.py) / speed
    fire_delay    = late + scrape + evaluation + group_wait + scrape
    resolve_delay = late + scrape + evaluation + group_interval + scrape
    lead          = (hold_minutes + 1) x 60 / speed
A minute's push reaches the Pushgateway when the report stage closes it (late); Prometheus
scrapes it within one scrape interval and evaluates within one evaluation interval (a `for:`
counted from the first true evaluation ends at the evaluation after the hold's last minute);
Alertmanager holds a new group group_wait, a change group_interval; one more scrape interval
absorbs the jitter of sending. Prometheus may fire earlier than the report stage: the
export-failing rule fires on `up == 0` as soon as the store is down, while the stage waits for
its hold; hence the lead. It may resolve earlier too (the stage's resolve_minutes), so a
resolution has no lower bound but its firing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_soak.checks._common import to_ms
from pytest_soak.checks.alert_windows import Timing
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence, expected
from pytest_soak.verdict import ItemResult, failed, passed, unknown
from pytest_soak_evidence.schemas import violations

NAME = "alert notifications"
NOTIFICATIONS = "harness/alert_notifications.jsonl"    # pytest_soak/alert_path.py writes it
EVIDENCE = [MANIFEST, OBSERVATIONS, NOTIFICATIONS]


@dataclass(frozen=True)
class Delays:
    fire_s: float
    resolve_s: float
    lead_per_hold_min_s: float

    @classmethod
    def of(cls, timing: dict[str, float], late_market_ms: int, speed: float) -> Delays:
        late = late_market_ms / 1000 / speed
        scrape, evaluation = timing["scrape_interval_s"], timing["evaluation_interval_s"]
        return cls(fire_s=late + 2 * scrape + evaluation + timing["group_wait_s"],
                   resolve_s=late + 2 * scrape + evaluation + timing["group_interval_s"],
                   lead_per_hold_min_s=60 / speed)

    def formula(self) -> str:
        return (f"firing by fired + {self.fire_s:g} s, resolved by resolved + "
                f"{self.resolve_s:g} s (late + 2 x scrape + evaluation + group_wait / "
                "group_interval)")


@dataclass(frozen=True)
class Event:
    received_ms: int
    status: str
    rule: str


def events(rows: list[dict]) -> list[Event]:
    """Each alert of each notification, in the order received."""
    out = [Event(int(r["received_ms"]), str(a.get("status")), str(a["labels"].get("rule")))
           for r in rows for a in r.get("alerts") or [] if isinstance(a.get("labels"), dict)]
    return sorted(out, key=lambda e: e.received_ms)


def _wall(clock: dict[str, Any], speed: float):
    start_event, start_wall = clock.get("start_event_ms"), clock.get("start_wall_ms")
    if start_event is None or start_wall is None:
        return None
    return lambda event_ms: start_wall + (event_ms - start_event) / speed


def part(run: RunEvidence, alerts: list[dict], timing: Timing | None,
         why_not: str) -> ItemResult | None:
    """The sub-check's part, or None when the alert path did not run."""
    obs = run.observations or {}
    section = obs.get("alert_path") or {}
    if not section.get("enabled"):
        return None
    if section.get("error"):
        return unknown(NAME, f"the alert path failed: {section['error']}", evidence=EVIDENCE)
    rows, torn = run.jsonl(section.get("notifications_file") or NOTIFICATIONS)
    broken = [p for r in rows for p in violations(r, "alert_notification")]
    if torn or broken:
        return unknown(NAME, f"{NOTIFICATIONS}: {torn} torn line(s), {broken[:2]}",
                       evidence=EVIDENCE)
    speed = float(obs.get("speed") or 1)
    wall = _wall(obs.get("market_clock") or {}, speed)
    if timing is None or wall is None or not isinstance(section.get("timing"), dict):
        return unknown(NAME, why_not or "no market clock to put the manifest's alerts on the "
                       "wall clock", evidence=EVIDENCE)
    induced = {r for w in run.windows(confirmed_only=True) for r in expected(w.fault, "alerts")}
    judged = sorted((a for a in alerts if a.get("rule") in induced and a.get("fired_at_ms")),
                    key=lambda a: a["fired_at_ms"])
    if not judged:
        return unknown(NAME, "the manifest records no alert of a rule a confirmed fault "
                       "induced: nothing to compare the notifications with", evidence=EVIDENCE)
    delays = Delays.of(section["timing"], timing.late_ms, speed)
    return _compare(judged, events(rows), delays, wall, timing)


def _compare(judged: list[dict], seen: list[Event], delays: Delays, wall,
             timing: Timing) -> ItemResult:
    used: set[int] = set()
    lags = {"firing_lag_s": float("-inf"), "resolved_lag_s": float("-inf")}
    for alert in judged:
        rule, fired = alert["rule"], wall(alert["fired_at_ms"])
        rt = timing.of(rule)
        lead = ((rt.hold_min if rt else 0) + 1) * delays.lead_per_hold_min_s
        lo, hi = fired - lead * 1000, fired + delays.fire_s * 1000
        firing = _first(seen, used, rule, "firing", lo, hi)
        if firing is None:
            return failed(NAME, f"{rule} (fired {alert.get('fired_at')}): no firing "
                          f"notification received in [fired - {lead:g} s, fired + "
                          f"{delays.fire_s:g} s] ({delays.formula()})", None,
                          "a firing notification", EVIDENCE)
        resolved_at = to_ms(alert.get("resolved_at")) if alert.get(
            "resolved_at_ms") is None else alert["resolved_at_ms"]
        bound = None if resolved_at is None else wall(resolved_at) + delays.resolve_s * 1000
        resolved = _first(seen, used, rule, "resolved", firing.received_ms + 1,
                          bound if bound is not None else float("inf"))
        if resolved is None:
            return failed(NAME, f"{rule}: notified firing {firing.received_ms} but no "
                          f"resolved notification by {bound} ({delays.formula()})", None,
                          "a resolved notification", EVIDENCE)
        used |= {id(firing), id(resolved)}
        lags["firing_lag_s"] = max(lags["firing_lag_s"], (firing.received_ms - fired) / 1000)
        if resolved_at is not None:
            lags["resolved_lag_s"] = max(lags["resolved_lag_s"],
                                         (resolved.received_ms - wall(resolved_at)) / 1000)
    value = {k: round(v, 1) for k, v in lags.items() if v != float("-inf")}
    limit = {"firing_lag_s": delays.fire_s, "resolved_lag_s": delays.resolve_s}
    rules = ", ".join(sorted({a["rule"] for a in judged}))
    return passed(NAME, f"{len(judged)} alert(s) ({rules}) notified firing then resolved "
                  f"within the stated delays; worst lags {value} ({delays.formula()})",
                  value, {k: round(v, 1) for k, v in limit.items() if k in value}, EVIDENCE)


def _first(seen: list[Event], used: set[int], rule: str, status: str, lo: float,
           hi: float) -> Event | None:
    return next((e for e in seen if id(e) not in used and e.rule == rule
                 and e.status == status and lo <= e.received_ms <= hi), None)
