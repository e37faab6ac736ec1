"""D3 alerts: each of the five rules fires inside the window that induces it, resolves after,
is recorded (rule, level, fired_at, resolved_at, details) in run_manifest.alerts and in every
sink's daily report; no rule fires outside an induced window; every ratio lies in [0, 1].

Which window induces which rule comes from the recorded faults only: a fault whose
`expects.alerts` holds the rule. A rule no fault induced, or whose fault's effect was never
confirmed, is unknown -- an alert that was never provoked proves nothing. An alert is not a
stray when it fires in the window of a fault that expects or tolerates its rule, up to
alert_fire_grace_s (a rule fires only after whole closed minutes) or that fault's `for_s`,
whichever is longer, after the window. Alert times are event time (`fired_at_ms`,
`resolved_at_ms`), compared with the windows' event times.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import dig, interrupted, need, need_manifest, to_ms
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import (
    MANIFEST,
    OBSERVATIONS,
    RunEvidence,
    Window,
    expected,
    tolerance_s,
)
from pytest_soak.fault_kinds.vocabulary import alert_rules
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown


def alert_times(alert: dict) -> tuple[int | None, int | None]:
    fired = alert.get("fired_at_ms", to_ms(alert.get("fired_at")))
    resolved = alert.get("resolved_at_ms", to_ms(alert.get("resolved_at")))
    return fired, resolved


def inducing_windows(run: RunEvidence, rule: str) -> list[Window]:
    """The windows of the faults that expect `rule` to fire."""
    return [w for w in run.windows() if rule in expected(w.fault, "alerts")]


def check_D3(run: RunEvidence, t: Thresholds) -> ItemResult:
    _obs, why = need(run, OBSERVATIONS, "D3")
    if why:
        return why
    stop = interrupted(run, "D3")
    if stop:
        return stop
    manifest, why = need_manifest(run, "D3", ("alerts",))
    if why:
        return why
    alerts = manifest.get("alerts")
    if not isinstance(alerts, list):
        return failed("D3", "run_manifest.alerts is absent", evidence=[MANIFEST])
    parts = [_rule_cycle(run, rule, alerts, t) for rule in t.alert_rules]
    parts += [_nothing_outside(run, alerts, t), _ratios_in_unit(alerts),
              _in_daily_reports(run, alerts)]
    return combine("D3", parts)


def _rule_cycle(run: RunEvidence, rule: str, alerts: list[dict], t: Thresholds) -> ItemResult:
    windows = inducing_windows(run, rule)
    evidence = [MANIFEST, OBSERVATIONS]
    if not windows:
        return unknown(rule, f"no fault in the schedule induces {rule}", evidence=evidence)
    unproven = [w.fault["id"] for w in windows if not w.fault.get("effect_confirmed")]
    if unproven:
        return unknown(rule, f"effect of fault(s) {unproven} never confirmed", evidence=evidence)
    mine = [a for a in alerts if a.get("rule") == rule]
    for w in windows:
        grace_fire, grace_resolve = t.alert_fire_grace_s * 1000, t.alert_resolve_grace_s * 1000
        fired = [a for a in mine if _between(alert_times(a)[0], w.start_ms, w.end_ms + grace_fire)]
        if not fired:
            return failed(rule, f"did not fire during fault {w.fault['id']} "
                          f"(event ms {w.start_ms}..{w.end_ms} + {t.alert_fire_grace_s} s); "
                          f"{len(mine)} {rule} alert(s) in total", len(mine), 1, evidence)
        f_ms, r_ms = alert_times(fired[0])
        if r_ms is None:
            return failed(rule, f"fired at {f_ms} during fault {w.fault['id']} but never "
                          "resolved", None, "resolved", evidence)
        if not _between(r_ms, f_ms, w.end_ms + grace_resolve):
            return failed(rule, f"resolved at {r_ms}, more than {t.alert_resolve_grace_s} s "
                          f"after fault {w.fault['id']} ended ({w.end_ms})", r_ms,
                          w.end_ms + grace_resolve, evidence)
        missing = [k for k in ("rule", "level", "details") if k not in fired[0]]
        if missing:
            return failed(rule, f"alert record lacks {missing}", None, None, evidence)
    return passed(rule, f"{rule} fired and resolved in each of {len(windows)} window(s)",
                  len(windows), len(windows), evidence)


def _between(t_ms: int | None, lo: float, hi: float) -> bool:
    return t_ms is not None and lo <= t_ms <= hi


def _excused(alert: dict, run: RunEvidence, t: Thresholds) -> bool:
    fired = alert_times(alert)[0]
    for w in run.windows(excusing=("alerts", str(alert.get("rule")))):
        after_s = max(t.alert_fire_grace_s, tolerance_s(w.fault, t.settle_s))
        if _between(fired, w.start_ms, w.end_ms + after_s * 1000):
            return True
    return False


def _nothing_outside(run: RunEvidence, alerts: list[dict], t: Thresholds) -> ItemResult:
    stray = [a for a in alerts if not _excused(a, run, t)]
    evidence = [MANIFEST, OBSERVATIONS]
    if stray:
        desc = ", ".join(f"{a.get('rule')}@{alert_times(a)[0]}" for a in stray[:5])
        return failed("no stray alerts", f"{len(stray)} alert(s) fired outside the windows of "
                      f"the faults expecting or tolerating their rule: {desc}", len(stray), 0,
                      evidence)
    return passed("no stray alerts", "no alert fired outside the window of a fault expecting "
                  "or tolerating its rule", 0, 0, evidence)


def _ratios(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every number under a key naming a ratio or a share."""
    out: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}.{key}"
            if isinstance(value, int | float) and not isinstance(value, bool) and (
                    "ratio" in key or "share" in key):
                out.append((here, value))
            else:
                out.extend(_ratios(value, here))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(_ratios(value, f"{path}[{i}]"))
    return out


def _ratios_in_unit(alerts: list[dict]) -> ItemResult:
    bad = [(p, v) for p, v in _ratios(alerts, "$.alerts") if not 0 <= v <= 1]
    if bad:
        return failed("ratios in [0,1]", f"ratio(s) outside [0, 1]: {bad[:3]}", bad[0][1],
                      [0, 1], [MANIFEST])
    return passed("ratios in [0,1]", "every ratio in the alerts lies in [0, 1]", None, [0, 1],
                  [MANIFEST])


def _in_daily_reports(run: RunEvidence, alerts: list[dict]) -> ItemResult:
    if not run.reports:
        return unknown("in daily reports", "no daily report to compare with")
    wanted = {(a.get("rule"), alert_times(a)[0]) for a in alerts}
    for sink, report in run.reports.items():
        if not report.json_file.ok:
            return failed("in daily reports", report.json_file.describe(),
                          evidence=[report.json_file.path])
        listed = dig(report.json_file.doc, "alerts")
        if not isinstance(listed, list):
            return failed("in daily reports", f"{sink} daily report has no alerts list",
                          evidence=[report.json_file.path])
        found = {(a.get("rule"), alert_times(a)[0]) for a in listed}
        if wanted - found:
            return failed("in daily reports", f"{sink} daily report lacks alerts "
                          f"{sorted(wanted - found, key=str)[:3]}", len(found), len(wanted),
                          [report.json_file.path])
    return passed("in daily reports", f"all {len(wanted)} alerts in every sink's daily report",
                  len(wanted), len(wanted), [r.json_file.path for r in run.reports.values()])


ITEM = DodItem(
    id="D3", name="alerts", title="every alert rule fires when induced and resolves after",
    description="Each of the five alert rules is provoked by one fault of the schedule. It "
                "must fire inside that window, resolve after it, and appear in the manifest "
                "and daily reports. Nothing may fire outside an induced window; every ratio "
                "lies in [0, 1].",
    # one sub-check per rule: it fired in each window that induces it and resolved after
    subchecks=(*(SubCheck(rule) for rule in alert_rules()), SubCheck("no stray alerts", "max"),
               SubCheck("ratios in [0,1]"), SubCheck("in daily reports")),
    check=check_D3, evidence=(MANIFEST, OBSERVATIONS, "reports/*/summary_*.md"),
    plots=("alerts.png",))
