"""What the sinks say, summed the way the report stage sums it: the yardstick for the store's
read-back (D4) and the per-minute plots. Computed from the sink rows themselves."""

from __future__ import annotations

from collections import Counter
from typing import Any

MINUTE_MS = 60_000


def gating_of(row: dict) -> str:
    return str(row.get("gating", row.get("gating_reason", row.get("reason", "unknown"))))


def low_consistency(row: dict) -> bool:
    """The row was gated as low_consistency (alone or among other reasons: a list, `a,b` or
    `a;b`, as the report stage reads them)."""
    value = row.get("gating", row.get("reason", row.get("gating_reason")))
    reasons = value if isinstance(value, list | tuple) else gating_of(row).replace(
        ";", ",").split(",")
    return "low_consistency" in (str(r).strip() for r in reasons)


def minute_of(row: dict) -> int | None:
    ts = row.get("ts_ms")
    return int(ts) // MINUTE_MS * MINUTE_MS if isinstance(ts, int | float) else None


def minute_counts(rows: list[dict]) -> dict[int, dict[str, tuple[int, int, int]]]:
    """minute start -> symbol -> (total, strong, low_consistency): the inputs of the report
    stage's per-minute alert rules, summed from the sink rows themselves."""
    out: dict[int, dict[str, list[int]]] = {}
    for row in rows:
        minute = minute_of(row)
        if minute is None:
            continue
        counts = out.setdefault(minute, {}).setdefault(str(row.get("symbol")), [0, 0, 0])
        counts[0] += 1
        counts[1] += bool(row.get("strong"))
        counts[2] += low_consistency(row)
    return {m: {s: (c[0], c[1], c[2]) for s, c in by.items()} for m, by in sorted(out.items())}


def sink_aggregates(rows: list[dict]) -> dict[str, Any]:
    """total, confirm, strong, strong_ratio, gating_breakdown and per_minute totals."""
    total = len(rows)
    confirm = sum(1 for r in rows if r.get("confirm"))
    strong = sum(1 for r in rows if r.get("strong"))
    per_minute = Counter(m for m in map(minute_of, rows) if m is not None)
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
