"""D4 time-series export: export_count >= minutes, no export error outside an induced store
outage, and the store, read back by the harness, holds total, strong_ratio, gating_breakdown
(one series per reason) and per_minute with the sinks' values.

The failure times in run_manifest.timeseries_export.failures are wall-clock ms; each is
matched against the store_down fault windows (wall clock) plus the settle margin scaled to
wall time. A Pushgateway never forgets, so its `push_time_seconds` must be fresh: the last
push must be no older than `pushgateway_fresh_s` (market seconds) before the stop.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import dig, interrupted, need
from pytest_soak.checks.aggregates import sink_aggregates
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

SERIES = ("total", "strong_ratio", "gating_breakdown", "per_minute")


def check_D4(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D4")
    if why:
        return why
    stop = interrupted(run, "D4")
    if stop:
        return stop
    manifest, why = need(run, MANIFEST, "D4")
    if why:
        return why
    export = manifest.get("timeseries_export")
    if not isinstance(export, dict):
        return failed("D4", "run_manifest.timeseries_export is absent", evidence=[MANIFEST])
    return combine("D4", [_export_count(export, obs, t), _errors_outside(run, export, obs, t),
                          _readback(run, obs, t)])


def _export_count(export: dict, obs: dict, t: Thresholds) -> ItemResult:
    want = int(float(obs["minutes"]) * t.min_exports_per_minute)
    got = export.get("export_count")
    if not isinstance(got, int):
        return failed("export_count", "timeseries_export.export_count is absent", None, want,
                      [MANIFEST])
    if got >= want:
        return passed("export_count", f"{got} exports >= {want}", got, want, [MANIFEST])
    return failed("export_count", f"only {got} exports, expected >= {want} (one per closed "
                  "minute)", got, want, [MANIFEST])


def _errors_outside(run: RunEvidence, export: dict, obs: dict, t: Thresholds) -> ItemResult:
    errors = export.get("error_count")
    failures = export.get("failures")
    if not isinstance(errors, int):
        return failed("errors outside outage", "timeseries_export.error_count is absent",
                      evidence=[MANIFEST])
    if errors and not isinstance(failures, list):
        return failed("errors outside outage", f"{errors} export errors and no failure times "
                      "to tell them from the induced outage", errors, 0, [MANIFEST])
    settle_ms = t.settle_s / float(obs.get("speed") or 1) * 1000
    outages = [(f.get("started_ms"), f.get("ended_ms")) for f in run.faults
               if f.get("kind") == "store_down" and f.get("started_ms") is not None]
    stray = [ms for ms in failures or []
             if not any(s <= ms <= (e or s) + settle_ms for s, e in outages)]
    if stray:
        return failed("errors outside outage", f"{len(stray)} export error(s) outside the "
                      f"induced store outage (last error: {export.get('last_error')})",
                      len(stray), 0, [MANIFEST, OBSERVATIONS])
    return passed("errors outside outage", f"0 export errors outside the outage "
                  f"({errors} inside)", 0, 0, [MANIFEST, OBSERVATIONS])


def _readback(run: RunEvidence, obs: dict, t: Thresholds) -> ItemResult:
    store = obs["store"]
    evidence = [OBSERVATIONS]
    if store.get("type") in (None, "none"):
        return unknown("store read-back", "no time-series store in this run", evidence=evidence)
    readback = store.get("readback")
    if not isinstance(readback, dict):
        return unknown("store read-back", f"the harness could not read the store back: "
                       f"{store.get('readback_error')}", evidence=evidence)
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), None)
    if rows is None:
        return unknown("store read-back", f"cannot read the sinks: {run.sink_rows}",
                       evidence=evidence)
    if not rows:
        return unknown("store read-back", "the sinks hold no signal to compare with",
                       evidence=evidence)
    expected = sink_aggregates(rows)
    problems = [p for name in SERIES
                for p in _series_problems(name, readback.get(name), expected, t)]
    problems += _freshness_problems(store, readback, obs, t)
    if problems:
        return failed("store read-back", "; ".join(problems[:4]), len(problems), 0, evidence)
    return passed("store read-back", f"store matches the sinks on {', '.join(SERIES)}",
                  expected["total"], expected["total"], evidence)


def _flat(value: Any) -> Any:
    """A per-symbol dict of numbers summed; a per-symbol dict of dicts summed key-wise."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        out: dict = {}
        for inner in value.values():
            for k, v in inner.items():
                out[str(k)] = out.get(str(k), 0) + v
        return out
    return value


def _series_problems(name: str, got: Any, expected: dict, t: Thresholds) -> list[str]:
    if got is None:
        return [f"store has no {name} series"]
    want = expected[name]
    if name == "total":
        got = sum(got.values()) if isinstance(got, dict) else got
        return [] if got == want else [f"total {got} in the store, {want} in the sinks"]
    if name == "strong_ratio":
        if isinstance(got, dict):
            return []  # per-symbol ratios: compared through total and per_minute instead
        return ([] if want is not None and abs(got - want) <= max(t.readback_tolerance, 1e-9)
                else [f"strong_ratio {got} in the store, {want} in the sinks"])
    got = {str(k): v for k, v in (_flat(got) or {}).items()}
    want = {str(k): v for k, v in want.items()}
    if name == "per_minute":
        wrong = {m: (got[m], want.get(m)) for m in got if got[m] != want.get(m)}
        return [f"per_minute differs at {list(wrong.items())[:3]}"] if wrong else []
    missing = set(want) - set(got)
    wrong = {k: (got[k], want[k]) for k in set(got) & set(want) if got[k] != want[k]}
    out = [f"gating_breakdown lacks reason(s) {sorted(missing)}"] if missing else []
    return out + ([f"gating_breakdown differs: {wrong}"] if wrong else [])


def _freshness_problems(store: dict, readback: dict, obs: dict, t: Thresholds) -> list[str]:
    if store.get("type") != "prometheus":
        return []
    pushed = readback.get("push_time_seconds")
    stopped = dig(obs, "pipeline.stop_sent_ms") or dig(obs, "pipeline.stopped_ms")
    if pushed is None or stopped is None:
        return ["no push_time_seconds to prove the Pushgateway group is this run's"]
    age_s = stopped / 1000 - float(pushed)
    limit = t.pushgateway_fresh_s / float(obs.get("speed") or 1)
    return [] if age_s <= limit else [f"last push {age_s:.1f} s before the stop (> {limit:.1f})"]
