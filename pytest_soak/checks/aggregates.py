"""What the sinks say, summed the way the report stage sums it: the yardstick for the store's
read-back (D4) and the per-minute plots. Computed from the sink rows themselves."""

from __future__ import annotations

from collections import Counter
from typing import Any

MINUTE_MS = 60_000


def gating_of(row: dict) -> str:
    return str(row.get("gating", row.get("gating_reason", row.get("reason", "unknown"))))


def sink_aggregates(rows: list[dict]) -> dict[str, Any]:
    """total, confirm, strong, strong_ratio, gating_breakdown and per_minute totals."""
    total = len(rows)
    confirm = sum(1 for r in rows if r.get("confirm"))
    strong = sum(1 for r in rows if r.get("strong"))
    per_minute = Counter(int(r["ts_ms"]) // MINUTE_MS * MINUTE_MS for r in rows
                         if isinstance(r.get("ts_ms"), int | float))
    return {"total": total, "confirm": confirm, "strong": strong,
            "strong_ratio": strong / total if total else None,
            "gating_breakdown": dict(Counter(gating_of(r) for r in rows)),
            "per_minute": dict(sorted(per_minute.items()))}


def per_symbol(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """sink_aggregates for each symbol's rows."""
    by: dict[str, list[dict]] = {}
    for row in rows:
        by.setdefault(str(row.get("symbol")), []).append(row)
    return {symbol: sink_aggregates(group) for symbol, group in sorted(by.items())}
