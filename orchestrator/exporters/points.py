"""The points of one minute batch, as both InfluxDB exporters write them (1.x `/write`, 2.x
`/api/v2/write`): the same measurements, tags and fields, so a store read back answers the
same whichever API wrote it. Measurements are listed in docs/report.md.

Each point carries the minute's event time (ms precision) and the tags {run_id, symbol[,
reason]}, so writing a batch twice overwrites the same points: idempotent.
"""

from __future__ import annotations

from typing import Any

from orchestrator.exporters.base import numeric_fields


def minute_points(batch: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    """[{measurement, time (ms), tags, fields}], the dict form both client packages take."""
    t = int(batch["minute_ms"])
    base = {"run_id": run_id}
    points = []
    for symbol, agg in batch["symbols"].items():
        tags = {**base, "symbol": symbol}
        points.append(_point("soak_per_minute", t, tags, {
            "total": int(agg["total"]), "confirm": int(agg["confirm"]),
            "strong": int(agg["strong"]), "strong_ratio": float(agg["strong_ratio"]),
            "low_consistency_share": float(agg["low_consistency_share"]),
            "partial": bool(batch.get("partial"))}))
        for reason, count in agg["gating_breakdown"].items():
            points.append(_point("soak_per_minute_gating", t, {**tags, "reason": reason},
                                 {"count": int(count)}))
    for symbol, totals in batch["run"].items():
        tags = {**base, "symbol": symbol}
        points.append(_point("soak_run", t, tags, {
            "total": int(totals["total"]), "confirm": int(totals["confirm"]),
            "strong": int(totals["strong"]),
            "strong_ratio": float(totals["strong_ratio"])}))
        for reason, count in totals["gating_breakdown"].items():
            points.append(_point("soak_gating_breakdown", t, {**tags, "reason": reason},
                                 {"count": int(count)}))
    for name in ("harvester", "executor", "export", "alerts"):
        fields = numeric_fields(batch.get(name))
        if fields:
            points.append(_point(f"soak_{name}", t, base, fields))
    return points


def _point(measurement: str, t_ms: int, tags: dict[str, str],
           fields: dict[str, Any]) -> dict[str, Any]:
    return {"measurement": measurement, "time": t_ms, "tags": tags, "fields": fields}
