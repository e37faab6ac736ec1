"""D4 time-series export: the store, counted by the harness, holds one export per closed
minute and the manifest's export_count says as much; error_count is the number of recorded
failure times and none of them lies outside an induced store outage; and the store, read back
by the harness, holds total, strong_ratio, gating_breakdown (one series per reason) and
per_minute with the sinks' values.

The failure times in run_manifest.timeseries_export.failures are wall-clock ms; each is
matched against the windows (wall clock) of the faults that expect or tolerate the
export_failing rule (a store outage), plus each one's for_s (else the settle margin) scaled to
wall time. A Pushgateway never forgets, so its `push_time_seconds` must be fresh: the last
push must be no older than `pushgateway_fresh_s` (market seconds) before the stop.
"""

from __future__ import annotations

from pytest_soak.checks._common import dig, interrupted, need, need_manifest
from pytest_soak.checks.aggregates import per_symbol, sink_aggregates
from pytest_soak.checks.store_view import store_view
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence, excuses, tolerance_s
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

SERIES = ("total", "strong_ratio", "gating_breakdown", "per_minute")
# the gateway's clock and the harness's are the same machine's; this covers their rounding
PUSH_SLACK_S = 1.0


def check_D4(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D4")
    if why:
        return why
    stop = interrupted(run, "D4")
    if stop:
        return stop
    manifest, why = need_manifest(run, "D4", ("timeseries_export",))
    if why:
        return why
    export = manifest.get("timeseries_export")
    if not isinstance(export, dict):
        return failed("D4", "run_manifest.timeseries_export is absent", evidence=[MANIFEST])
    return combine("D4", [_export_count(export, obs, t), _errors_outside(run, export, obs, t),
                          _readback(run, obs, t)])


def _export_count(export: dict, obs: dict, t: Thresholds) -> ItemResult:
    """Counted in the store, not taken from the manifest: one group (Pushgateway) or point
    time (InfluxDB) per exported minute; a Pushgateway group counts only if the gateway's own
    push time lies inside the pipeline's life (a group left by anything else is not this
    run's export). The manifest's export_count must equal that count."""
    name, evidence = "export_count", [OBSERVATIONS, MANIFEST]
    want = int(float(obs["minutes"]) * t.min_exports_per_minute)
    store = obs["store"]
    readback = store.get("readback")
    if store.get("type") in (None, "none") or not isinstance(readback, dict) or not readback:
        return unknown(name, "the harness could not count the exports in the store "
                       f"({store.get('type')}: {store.get('readback_error')})", None, want,
                       evidence)
    counted, stray = _counted_exports(store_view(readback), obs)
    claimed = export.get("export_count")
    outside = f"; {stray} group(s) pushed outside the pipeline's life ignored" if stray else ""
    if counted < want:
        return failed(name, f"the store holds {counted} exported minute(s) of this run, "
                      f"expected >= {want} (one per closed minute; manifest claims {claimed})"
                      f"{outside}",
                      counted, want, evidence)
    if claimed != counted:
        return failed(name, f"the manifest claims export_count {claimed}, the store holds "
                      f"{counted} exported minutes{outside}", counted, want, evidence)
    return passed(name, f"{counted} exported minutes in the store >= {want}, as the manifest "
                  "says", counted, want, evidence)


def _counted_exports(view: dict, obs: dict) -> tuple[int, int]:
    """(minutes exported during the pipeline's life, minute groups pushed outside it)."""
    started = dig(obs, "pipeline.started_ms")
    stopped = dig(obs, "pipeline.stopped_ms") or dig(obs, "harness.ended_ms")
    pushes = view["exports"]
    if started is None or stopped is None:
        return sum(1 for p in pushes.values() if p is None), 0
    inside = [p for p in pushes.values()
              if p is None or started / 1000 - PUSH_SLACK_S <= p <= stopped / 1000 + PUSH_SLACK_S]
    return len(inside), len(pushes) - len(inside)


def _errors_outside(run: RunEvidence, export: dict, obs: dict, t: Thresholds) -> ItemResult:
    errors = export.get("error_count")
    failures = export.get("failures")
    if not isinstance(errors, int):
        return failed("errors outside outage", "timeseries_export.error_count is absent",
                      evidence=[MANIFEST])
    if errors and not isinstance(failures, list):
        return failed("errors outside outage", f"{errors} export errors and no failure times "
                      "to tell them from the induced outage", errors, 0, [MANIFEST])
    if isinstance(failures, list) and len(failures) != errors:
        # an error without its time cannot be shown to lie inside the outage (and a failure
        # time without its error means the count is not the pipeline's real one)
        return failed("errors outside outage", f"error_count {errors} but {len(failures)} "
                      "failure time(s) recorded: the errors cannot all be placed in time",
                      {"error_count": errors, "failures": len(failures)}, 0, [MANIFEST])
    speed = float(obs.get("speed") or 1)
    outages = [(f["started_ms"], f.get("ended_ms"), tolerance_s(f, t.settle_s) / speed * 1000)
               for f in run.faults
               if excuses(f, "alerts", "export_failing") and f.get("started_ms") is not None]
    stray = [ms for ms in failures or []
             if not any(s <= ms <= (e or s) + after_ms for s, e, after_ms in outages)]
    if stray:
        return failed("errors outside outage", f"{len(stray)} export error(s) outside the "
                      f"induced store outage (last error: {export.get('last_error')})",
                      len(stray), 0, [MANIFEST, OBSERVATIONS])
    return passed("errors outside outage", f"0 export errors outside the outage "
                  f"({errors} inside)", 0, 0, [MANIFEST, OBSERVATIONS])


def _readback(run: RunEvidence, obs: dict, t: Thresholds) -> ItemResult:
    store = obs["store"]
    evidence = [OBSERVATIONS, "sinks/"]
    if store.get("type") in (None, "none"):
        return unknown("store read-back", "no time-series store in this run", evidence=evidence)
    readback = store.get("readback")
    if not isinstance(readback, dict) or not readback:
        return unknown("store read-back", f"the harness could not read the store back: "
                       f"{store.get('readback_error')}", evidence=evidence)
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), None)
    if rows is None:
        return unknown("store read-back", f"cannot read the sinks: {run.sink_rows}",
                       evidence=evidence)
    if not rows:
        return unknown("store read-back", "the sinks hold no signal to compare with",
                       evidence=evidence)
    view = store_view(readback)
    problems = compare_with_sinks(view, rows, t)
    problems += _freshness_problems(store, view, obs, t)
    if problems:
        return failed("store read-back", "; ".join(problems[:4]), len(problems), 0, evidence)
    return passed("store read-back", f"store matches the sinks on {', '.join(SERIES)} "
                  f"({len(rows)} signals, {len(view['per_minute'])} minutes)", 0, 0, evidence)


def compare_with_sinks(view: dict, rows: list[dict], t: Thresholds) -> list[str]:
    """What differs between the store's series and the sinks' rows (empty: all equal)."""
    want = per_symbol(rows)
    problems = [f"store has no {name} series" for name in SERIES if not view.get(name)]
    if problems:
        return problems
    for symbol, agg in want.items():
        got_total = view["total"].get(symbol)
        if got_total != agg["total"]:
            problems.append(f"{symbol} total {got_total} in the store, {agg['total']} in sinks")
        got_ratio = view["strong_ratio"].get(symbol)
        if got_ratio is None or abs(got_ratio - agg["strong_ratio"]) > t.readback_tolerance:
            problems.append(f"{symbol} strong_ratio {got_ratio} in the store, "
                            f"{agg['strong_ratio']} in sinks")
        got_gating = view["gating_breakdown"].get(symbol) or {}
        if {k: v for k, v in got_gating.items() if v} != agg["gating_breakdown"]:
            problems.append(f"{symbol} gating_breakdown {got_gating} in the store, "
                            f"{agg['gating_breakdown']} in sinks")
    sink_minutes = sink_aggregates(rows)["per_minute"]
    wrong = {m: (view["per_minute"].get(m), n) for m, n in sink_minutes.items()
             if view["per_minute"].get(m) != n}
    if wrong:
        problems.append(f"per_minute differs in {len(wrong)} of {len(sink_minutes)} minutes "
                        f"(minute: store, sinks) e.g. {list(wrong.items())[:2]}")
    return problems


def _freshness_problems(store: dict, view: dict, obs: dict, t: Thresholds) -> list[str]:
    """A Pushgateway never forgets: the run's last push must be recent, so what was read
    back is this run's, not a stale group."""
    if store.get("type") != "prometheus":
        return []
    pushed = view.get("push_time_seconds")
    stopped = dig(obs, "pipeline.stop_sent_ms") or dig(obs, "pipeline.stopped_ms")
    if pushed is None or stopped is None:
        return ["no push_time_seconds to prove the Pushgateway groups are this run's"]
    age_s = stopped / 1000 - float(pushed)
    limit = t.pushgateway_fresh_s / float(obs.get("speed") or 1)
    return [] if age_s <= limit else [f"last push {age_s:.1f} s before the stop (> {limit:.1f})"]


ITEM = DodItem(
    id="D4", name="time-series export",
    title="the time-series store holds every minute, equal to the sinks",
    description="One export per closed minute, no export error outside the store outage, and "
                "the store, read back by the harness, holds the same totals as the sinks.",
    subchecks=(SubCheck("export_count", "min"), SubCheck("errors outside outage", "max"),
               SubCheck("store read-back", "max")),
    check=check_D4, evidence=(MANIFEST, OBSERVATIONS, "reports/*/summary_*.md"),
    plots=("export.png",))
