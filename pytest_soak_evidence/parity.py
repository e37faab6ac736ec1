"""Dual-sink parity, recomputed from the sink files themselves (SPEC D5).

Per sink: total, confirm, strong and strong_ratio = strong / total, over the common window
(the minutes of event time from the later of the two first minutes to the earlier of the two
last minutes) and per minute; diff_pct(a, b) = |a - b| / max(|a|, |b|) * 100 (0 when both are
0); the window alignment (first and last minute of each sink, minutes present in one only);
and the row_ids present in one sink only.
"""

from __future__ import annotations

import time
from pathlib import Path

from pytest_soak_evidence.schemas import write_validated
from pytest_soak_evidence.sinks import (
    jsonl_path,
    read_jsonl_signals,
    read_sqlite_signals,
    sqlite_path,
)

MINUTE_MS = 60_000
TOLERANCE_PCT = 0.5
SINKS = ("jsonl", "sqlite")
SAMPLE_IDS = 20
PARITY_FILE = "parity_diff.json"


def minute_of(ts_ms: int) -> int:
    return int(ts_ms) // MINUTE_MS * MINUTE_MS


def diff_pct(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude, in percent (0 when both are 0)."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale * 100.0


def tally(rows: list[dict]) -> dict:
    total = len(rows)
    confirm = sum(1 for r in rows if r.get("confirm"))
    strong = sum(1 for r in rows if r.get("strong"))
    return {"total": total, "confirm": confirm, "strong": strong,
            "strong_ratio": strong / total if total else 0.0}


def compare(a: dict, b: dict) -> dict:
    return {key: diff_pct(a[key], b[key]) for key in ("total", "confirm", "strong_ratio")}


def _unique(rows: list[dict]) -> tuple[dict[str, dict], int]:
    """Rows by row_id (first kept) and how many duplicates were dropped."""
    out: dict[str, dict] = {}
    for row in rows:
        out.setdefault(row["row_id"], row)
    return out, len(rows) - len(out)


def _sink_summary(path: Path, rows: dict[str, dict], torn: int, duplicates: int) -> dict:
    minutes = sorted({minute_of(r["ts_ms"]) for r in rows.values()})
    return {"path": str(path), "exists": path.exists(), "rows": len(rows), "torn_lines": torn,
            "duplicate_row_ids": duplicates,
            "first_minute_ms": minutes[0] if minutes else None,
            "last_minute_ms": minutes[-1] if minutes else None, "minutes": len(minutes)}


def _read(run_dir: Path) -> dict[str, tuple[Path, dict[str, dict], int, int]]:
    out = {}
    for name, path, reader in (("jsonl", jsonl_path(run_dir), read_jsonl_signals),
                               ("sqlite", sqlite_path(run_dir), read_sqlite_signals)):
        rows, torn = reader(path) if path.exists() else ([], 0)
        unique, duplicates = _unique(rows)
        out[name] = (path, unique, torn, duplicates)
    return out


def compute_parity(run_dir: Path | str, tolerance_pct: float = TOLERANCE_PCT) -> dict:
    """The parity_diff document for `run_dir` (see the module docstring)."""
    run_dir = Path(run_dir)
    read = _read(run_dir)
    sinks = {name: _sink_summary(*read[name]) for name in SINKS}
    by_minute = {name: _group_by_minute(read[name][1]) for name in SINKS}
    firsts = [sinks[n]["first_minute_ms"] for n in SINKS]
    lasts = [sinks[n]["last_minute_ms"] for n in SINKS]
    comparable = None not in firsts
    start, end = (max(firsts), min(lasts)) if comparable else (None, None)
    comparable = comparable and start <= end
    window_minutes = [m for m in sorted(set(by_minute["jsonl"]) | set(by_minute["sqlite"]))
                      if comparable and start <= m <= end]
    per_minute = [_minute_entry(m, by_minute) for m in window_minutes]
    totals = {n: tally([r for m in window_minutes for r in by_minute[n].get(m, [])])
              for n in SINKS}
    diff = compare(totals["jsonl"], totals["sqlite"]) if comparable else None
    ids = {n: set(read[n][1]) for n in SINKS}
    only = {"jsonl": sorted(ids["jsonl"] - ids["sqlite"]),
            "sqlite": sorted(ids["sqlite"] - ids["jsonl"])}
    max_diff = max([*diff.values(), *(d for e in per_minute for d in e["diff_pct"].values())]) \
        if comparable else None
    return {
        "generated_ms": int(time.time() * 1000), "run_dir": str(run_dir),
        "tolerance_pct": tolerance_pct, "comparable": comparable, "sinks": sinks,
        "window": {
            "start_minute_ms": start if comparable else None,
            "end_minute_ms": end if comparable else None, "minutes": len(window_minutes),
            "missing_in_jsonl": sorted(set(by_minute["sqlite"]) - set(by_minute["jsonl"])),
            "missing_in_sqlite": sorted(set(by_minute["jsonl"]) - set(by_minute["sqlite"])),
        },
        "totals": totals, "diff_pct": diff, "per_minute": per_minute,
        "row_ids": {"only_in_jsonl": len(only["jsonl"]), "only_in_sqlite": len(only["sqlite"]),
                    "sample_only_in_jsonl": only["jsonl"][:SAMPLE_IDS],
                    "sample_only_in_sqlite": only["sqlite"][:SAMPLE_IDS]},
        "max_diff_pct": max_diff,
        "within_tolerance": bool(comparable and max_diff < tolerance_pct),
    }


def _group_by_minute(rows: dict[str, dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for row in rows.values():
        out.setdefault(minute_of(row["ts_ms"]), []).append(row)
    return out


def _minute_entry(minute: int, by_minute: dict[str, dict[int, list[dict]]]) -> dict:
    counts = {n: tally(by_minute[n].get(minute, [])) for n in SINKS}
    return {"minute_ms": minute, **counts, "diff_pct": compare(counts["jsonl"], counts["sqlite"])}


def write_parity(run_dir: Path | str, tolerance_pct: float = TOLERANCE_PCT) -> Path:
    """Compute, validate against schemas/parity_diff.schema.json, write run_dir/parity_diff.json."""
    return write_validated(Path(run_dir) / PARITY_FILE, compute_parity(run_dir, tolerance_pct),
                           "parity_diff")

