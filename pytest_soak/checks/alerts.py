"""D3 alerts: each of the five rules fires exactly once inside each window that induces it,
resolves in time, is recorded (rule, level, fired_at, resolved_at, details) in
run_manifest.alerts and in every sink's daily report; no rule fires outside the windows of the
faults that expect or tolerate it, none fires twice around one window (flapping); every ratio
lies in [0, 1]; and the shipped Prometheus rules, run by promtool over per-minute inputs the
harness rebuilt itself, fire and resolve where the engine did (checks/alert_crosscheck.py).

Which window induces which rule comes from the recorded faults only: a fault whose
`expects.alerts` holds the rule. A rule no fault induced, or whose fault's effect was never
confirmed, is unknown -- an alert that was never provoked proves nothing. Where a window lets
a rule fire and by when it must have resolved is the formula of checks/alert_windows.py: the
rule's declared hold / resolve minutes, one minute of alignment and the report's lateness.
Alert times are event time (`fired_at_ms`, `resolved_at_ms`), compared with the windows'
event times; both must be minute ends (a rule is stamped with the closed minute's end).

What the harness checks itself: the windows are its own record; a no_data alert may only
resolve on minutes the sinks (read by the harness) hold signals in.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks import alert_notifications
from pytest_soak.checks._common import dig, interrupted, need, need_manifest, to_ms
from pytest_soak.checks.aggregates import sink_aggregates
from pytest_soak.checks.alert_crosscheck import check_crosscheck
from pytest_soak.checks.alert_windows import (
    MINUTE_MS,
    PIPELINE_CONFIG,
    Span,
    Timing,
    declared_timing,
    spans,
)
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.fault_kinds.regime import RULE_OF_REGIME
from pytest_soak.fault_kinds.vocabulary import alert_rules
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

EVIDENCE = [MANIFEST, OBSERVATIONS, PIPELINE_CONFIG]


def alert_times(alert: dict) -> tuple[int | None, int | None]:
    fired = alert.get("fired_at_ms", to_ms(alert.get("fired_at")))
    resolved = alert.get("resolved_at_ms", to_ms(alert.get("resolved_at")))
    return fired, resolved


def check_D3(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D3")
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
    timing, why_not = declared_timing(run, float(obs.get("speed") or 1), t)
    parts = [_rule_cycle(run, rule, alerts, timing, why_not, t) for rule in t.alert_rules]
    parts += [_nothing_outside(run, alerts, timing, why_not, t),
              _no_flapping(run, alerts, timing, why_not, t), _ratios_in_unit(alerts),
              _in_daily_reports(run, alerts), check_crosscheck(run, timing)]
    notified = alert_notifications.part(run, alerts, timing, why_not)   # the live alert path
    return combine("D3", parts + ([notified] if notified else []))


def _stamp(ms: int | None) -> str:
    return "never" if ms is None else str(ms)


def _rule_cycle(run: RunEvidence, rule: str, alerts: list[dict], timing: Timing | None,
                why_not: str, t: Thresholds) -> ItemResult:
    windows = [w for w in run.windows() if rule in (w.fault.get("expects") or {}).get(
        "alerts", [])]
    # a fault that expects the rule but failed (a regime on a recording) says why
    why = sorted({f["error"] for f in run.faults if f.get("error") and rule in (
        f.get("expects") or {}).get("alerts", [])})
    because = f": {'; '.join(why)}" if why else ""
    if not windows:
        return unknown(rule, f"the fault inducing {rule} was not applied{because}" if why else
                       f"no fault in the schedule induces {rule}", evidence=EVIDENCE)
    unproven = [w.fault["id"] for w in windows if not w.fault.get("effect_confirmed")]
    if unproven:
        return unknown(rule, f"effect of fault(s) {unproven} never confirmed" + because,
                       evidence=EVIDENCE)
    if timing is None or timing.of(rule) is None:
        return unknown(rule, why_not or f"{PIPELINE_CONFIG} declares no hold/resolve minutes "
                       f"for {rule}", evidence=EVIDENCE)
    mine = [a for a in alerts if a.get("rule") == rule]
    off_grid = [a for a in mine if any(ms is not None and ms % MINUTE_MS
                                       for ms in alert_times(a))]
    if off_grid:
        f_ms, r_ms = alert_times(off_grid[0])
        return failed(rule, f"stamped {f_ms}..{_stamp(r_ms)}: not minute ends (a rule is "
                      "stamped with its closed minute's end)", f_ms, "minute end", EVIDENCE)
    every = spans(run, rule, timing, t)
    expecting = [s for s in every if s.expecting]
    for sp in expecting:
        problem = _one_cycle(run, sp, [a for a in mine if sp.around(alert_times(a)[0], every)],
                             timing)
        if problem:
            return problem
    return passed(rule, f"{rule} fired once and resolved in each of {len(expecting)} "
                  "window(s)", len(expecting), len(expecting), EVIDENCE)


def _one_cycle(run: RunEvidence, sp: Span, inside: list[dict], timing: Timing
               ) -> ItemResult | None:
    rule, fid = sp.rule, sp.fault_id
    where = f"fault {fid}: may fire {sp.fire_lo}..{sp.fire_hi}, resolve by {sp.resolve_hi}"
    if len(inside) != 1:
        return failed(rule, f"fired {len(inside)} time(s) for {where} ({timing.formula})",
                      len(inside), 1, EVIDENCE)
    alert = inside[0]
    f_ms, r_ms = alert_times(alert)
    if r_ms is None:
        return failed(rule, f"fired at {f_ms} for fault {fid} but never resolved", None,
                      "resolved", EVIDENCE)
    if not f_ms < r_ms <= sp.resolve_hi:
        return failed(rule, f"resolved at {r_ms} (fired {f_ms}): {where} ({timing.formula})",
                      r_ms, sp.resolve_hi, EVIDENCE)
    missing = [k for k in ("rule", "level", "details") if k not in alert]
    if missing:
        return failed(rule, f"alert record lacks {missing}", None, None, EVIDENCE)
    return _resolved_on_data(run, rule, r_ms, timing)


def _resolved_on_data(run: RunEvidence, rule: str, r_ms: int, timing: Timing
                      ) -> ItemResult | None:
    """no_data resolves after `resolve_minutes` minutes WITH signals: the sinks must hold
    some in each of them (the harness reads the sinks itself)."""
    if rule != "no_data":
        return None
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), None)
    if rows is None:
        return unknown(rule, "no readable sink to verify the resolution against",
                       evidence=EVIDENCE)
    per_minute = sink_aggregates(rows)["per_minute"]
    rt = timing.of(rule)
    assert rt is not None
    empty = [m for m in range(r_ms - rt.resolve_min * MINUTE_MS, r_ms, MINUTE_MS)
             if not per_minute.get(m)]
    if empty:
        return failed(rule, f"claimed resolved at {r_ms} but the sinks hold no signal in "
                      f"minute(s) {empty}: the condition still held", 0, ">0 signals", EVIDENCE)
    return None


def _unjudgeable(alerts: list[dict], timing: Timing | None) -> list[str]:
    return sorted({str(a.get("rule")) for a in alerts
                   if timing is None or timing.of(str(a.get("rule"))) is None})


def _outlived(alert: dict, mine: list[Span]) -> bool:
    r_ms = alert_times(alert)[1]
    return r_ms is None or r_ms > max(s.resolve_hi for s in mine)


def _blind(name: str, alerts: list[dict], timing: Timing | None, why_not: str
           ) -> ItemResult | None:
    """unknown when some alert's rule has no declared hold/resolve minutes to judge it by."""
    blind = _unjudgeable(alerts, timing)
    if blind:
        return unknown(name, why_not or f"no declared hold/resolve minutes for {blind}",
                       evidence=EVIDENCE)
    return None


def market_rules(run: RunEvidence) -> set[str]:
    """The rules a market can provoke by itself (the regime fault's), when the market is a
    recording whose regimes the harness does not know; none for the generated market."""
    source = ((run.observations or {}).get("feed") or {}).get("source") or {}
    return set(RULE_OF_REGIME.values()) if source.get("kind") == "recording" else set()


def _nothing_outside(run: RunEvidence, alerts: list[dict], timing: Timing | None,
                     why_not: str, t: Thresholds) -> ItemResult:
    name = "no stray alerts"
    blind = _blind(name, alerts, timing, why_not)
    if blind or timing is None:
        return blind or unknown(name, why_not or "no declared rule timing", evidence=EVIDENCE)
    stray, undecided = [], []
    market_made = market_rules(run)
    for a in alerts:
        f_ms = alert_times(a)[0]
        mine = [s for s in spans(run, str(a.get("rule")), timing, t) if s.holds_fire(f_ms)]
        if not mine:
            (undecided if a.get("rule") in market_made else stray).append(
                f"{a.get('rule')}@{f_ms} fired outside")
        elif _outlived(a, mine):
            stray.append(f"{a.get('rule')}@{f_ms} outlived its window(s) "
                         f"(resolved {_stamp(alert_times(a)[1])})")
    if stray:
        return failed(name, f"{len(stray)} alert(s) not excused by the windows of the faults "
                      f"expecting or tolerating their rule ({timing.formula}): "
                      + ", ".join(stray[:5]), len(stray), 0, EVIDENCE)
    if undecided:
        return unknown(name, f"{len(undecided)} alert(s) of rules the market itself provokes "
                       f"fired outside every fault window: on a recording the harness does not "
                       f"know the market's regimes, so it cannot tell a market-driven alert "
                       f"from a stray one: " + ", ".join(undecided[:5]), len(undecided), 0,
                       EVIDENCE)
    return passed(name, "every alert fired and resolved within the window of a fault "
                  f"expecting or tolerating its rule ({timing.formula})", 0, 0, EVIDENCE)


def _no_flapping(run: RunEvidence, alerts: list[dict], timing: Timing | None, why_not: str,
                 t: Thresholds) -> ItemResult:
    name = "no flapping"
    blind = _blind(name, alerts, timing, why_not)
    if blind or timing is None:
        return blind or unknown(name, why_not or "no declared rule timing", evidence=EVIDENCE)
    flaps = []
    for rule in sorted({str(a.get("rule")) for a in alerts}):
        fired = [alert_times(a)[0] for a in alerts if a.get("rule") == rule]
        every = spans(run, rule, timing, t)
        for sp in every:
            inside = [f for f in fired if sp.around(f, every)]
            if len(inside) > 1:
                flaps.append(f"{rule} fired {len(inside)} times around fault {sp.fault_id} "
                             f"(at {inside[:4]})")
    if flaps:
        return failed(name, "; ".join(flaps[:4]), len(flaps), 0, EVIDENCE)
    return passed(name, "no rule fired more than once around any fault window", 0, 0, EVIDENCE)


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
                "must fire exactly once for that window, within the rule's declared hold "
                "minutes plus one minute of alignment and the report's lateness, resolve "
                "within its resolve minutes after, and appear in the manifest and daily "
                "reports. Nothing may fire outside the window of a fault expecting or "
                "tolerating its rule, nor twice around one window; every ratio lies in [0, 1]. "
                "The shipped Prometheus rules, run by promtool over the inputs the harness "
                "rebuilt, must fire and resolve where the engine did.",
    # one sub-check per rule: it fired in each window that induces it and resolved after
    subchecks=(*(SubCheck(rule) for rule in alert_rules()), SubCheck("no stray alerts", "max"),
               SubCheck("no flapping", "max"), SubCheck("ratios in [0,1]"),
               SubCheck("in daily reports"), SubCheck("promtool cross-check", "max"),
               SubCheck(alert_notifications.NAME, "max",
                        when="the live alert path ran (LIVE, or --soak-alert-path)")),
    check=check_D3, evidence=(MANIFEST, OBSERVATIONS, PIPELINE_CONFIG, "reports/*/summary_*.md",
                              alert_notifications.NOTIFICATIONS),
    plots=("alerts.png",))
