"""The store's read-back (observations.store.readback), reduced to what D4 compares with the
sinks: per symbol total, strong_ratio and gating_breakdown over the run, per-minute totals,
(Pushgateway) the newest push_time_seconds of the run's groups, and the exported minutes the
harness counts itself: `exports` maps each minute's start (ms) to its group's own push time
(Pushgateway, seconds, set by the gateway on receipt) or None (InfluxDB points carry the
minute's event time, not a push time).

Two shapes come in, as the harness's sidecars read them back:
- Pushgateway: {"groups": [{"labels": {job, run_id, minute|instance}, "metrics":
  {name: [{"labels": {...}, "value": v}]}}]} -- one group per minute plus a "run" group;
- InfluxDB: {"database", "series": {measurement: [row, ...]}} -- rows carry time, tags, fields.
Series names are the report stage's (docs/report.md).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pytest_soak.checks._common import to_ms

MINUTE_MS = 60_000


def empty_view() -> dict[str, Any]:
    return {"total": {}, "strong_ratio": {}, "gating_breakdown": defaultdict(dict),
            "per_minute": defaultdict(float), "push_time_seconds": None, "exports": {}}


def store_view(readback: dict) -> dict[str, Any]:
    if "groups" in readback:
        view = _from_pushgateway(readback["groups"])
    elif "series" in readback:
        view = _from_influx(readback["series"])
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
