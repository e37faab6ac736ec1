"""The store's read-back (observations.store.readback), reduced to what D4 compares with the
sinks: per symbol total, strong_ratio and gating_breakdown over the run, per-minute totals,
(Pushgateway) the newest push_time_seconds of the run's groups, and the exported minutes the
harness counts itself: `exports` maps each minute's start (ms) to its group's own push time
(Pushgateway, seconds, set by the gateway on receipt) or None (InfluxDB points carry the
minute's event time, not a push time).

Two shapes come in, as the harness's sidecars read them back:
- Pushgateway: {"groups": [{"labels": {job, run_id, minute|instance}, "metrics":
  {name: [{"labels": {...}, "value": v}]}}]} -- one group per minute plus a "run" group;
- InfluxDB: {"database", "series": {measurement: [row, ...]}} -- rows carry time, tags, fields;
- InfluxDB 2.x API on VictoriaMetrics: {"store", "api": "v2", "export": [{"metric": {__name__,
  labels}, "values", "timestamps"}]} -- the store names field f of measurement m `m_f`; the
  series D4 reads are turned back into the InfluxDB rows above, and compared the same way.
Series names are the report stage's (docs/report.md).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pytest_soak.checks._common import to_ms

MINUTE_MS = 60_000
# VictoriaMetrics series name -> (measurement, field) of the points D4 compares
VM_SERIES = {"soak_run_total": ("soak_run", "total"),
             "soak_run_strong_ratio": ("soak_run", "strong_ratio"),
             "soak_gating_breakdown_count": ("soak_gating_breakdown", "count"),
             "soak_per_minute_total": ("soak_per_minute", "total")}


def empty_view() -> dict[str, Any]:
    return {"total": {}, "strong_ratio": {}, "gating_breakdown": defaultdict(dict),
            "per_minute": defaultdict(float), "push_time_seconds": None, "exports": {}}


def store_view(readback: dict) -> dict[str, Any]:
    if "groups" in readback:
        view = _from_pushgateway(readback["groups"])
    elif "series" in readback:
        view = _from_influx(readback["series"])
    elif "export" in readback:
        view = _from_influx(_rows_from_export(readback["export"]))
    else:
        view = empty_view()
    view["gating_breakdown"] = dict(view["gating_breakdown"])
    view["per_minute"] = {int(k): v for k, v in view["per_minute"].items()}
    return view


def _values(metrics: dict, name: str) -> list[tuple[dict, float]]:
    return [(m.get("labels") or {}, float(m["value"])) for m in metrics.get(name) or []
            if "value" in m]


def _from_pushgateway(groups: list[dict]) -> dict[str, Any]:
    view = empty_view()
    for group in groups:
        labels, metrics = group.get("labels") or {}, group.get("metrics") or {}
        for _l, pushed in _values(metrics, "push_time_seconds"):
            view["push_time_seconds"] = max(view["push_time_seconds"] or 0, pushed)
        if labels.get("instance") == "run":
            for name in ("total", "strong_ratio"):
                for lab, value in _values(metrics, f"soak_{name}"):
                    view[name][lab.get("symbol")] = value
            for lab, value in _values(metrics, "soak_gating_breakdown"):
                view["gating_breakdown"][lab.get("symbol")][lab.get("reason")] = value
        elif "minute" in labels:
            pushes = [pushed for _l, pushed in _values(metrics, "push_time_seconds")]
            if pushes:                 # a group the gateway did not date is not counted
                view["exports"][int(labels["minute"])] = max(pushes)
            for _l, value in _values(metrics, "soak_per_minute_total"):
                view["per_minute"][int(labels["minute"])] += value
    return view


def _latest(rows: list[dict], key: tuple[str, ...]) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row.get(f) for f in key)
        if k not in out or (to_ms(row.get("time")) or 0) >= (to_ms(out[k].get("time")) or 0):
            out[k] = row
    return out


def _from_influx(series: dict[str, list[dict]]) -> dict[str, Any]:
    view = empty_view()
    for (symbol,), row in _latest(series.get("soak_run") or [], ("symbol",)).items():
        view["total"][symbol] = row.get("total")
        view["strong_ratio"][symbol] = row.get("strong_ratio")
    for (symbol, reason), row in _latest(series.get("soak_gating_breakdown") or [],
                                         ("symbol", "reason")).items():
        view["gating_breakdown"][symbol][reason] = row.get("count")
    for (t, _symbol), row in _latest(series.get("soak_per_minute") or [],
                                     ("time", "symbol")).items():
        minute = to_ms(t)
        if minute is not None:
            view["per_minute"][minute // MINUTE_MS * MINUTE_MS] += row.get("total") or 0
            view["exports"][minute // MINUTE_MS * MINUTE_MS] = None
    return view


def _rows_from_export(export: list[dict]) -> dict[str, list[dict]]:
    """VictoriaMetrics' series back into InfluxDB rows: one row per measurement, labels and
    time, holding each field's value (a sample stored twice at one time is one row)."""
    rows: dict[tuple, dict] = {}
    for series in export:
        labels = dict(series.get("metric") or {})
        name = labels.pop("__name__", None)
        if name not in VM_SERIES:
            continue
        measurement, field = VM_SERIES[name]
        for t, value in zip(series.get("timestamps") or [], series.get("values") or [],
                            strict=False):
            key = (measurement, t, tuple(sorted(labels.items())))
            rows.setdefault(key, {**labels, "time": t})[field] = value
    out: dict[str, list[dict]] = defaultdict(list)
    for (measurement, _t, _labels), row in rows.items():
        out[measurement].append(row)
    return dict(out)
