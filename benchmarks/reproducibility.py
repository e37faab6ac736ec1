"""Reproducibility: run the CI gate (`pytest suites/soak`) twice with one seed and compare the
two runs' signals by element (issue 14: same seed, same run).

Over the union of the two JSONL sinks' row ids, a row is identical when both runs hold it with
the same decision (score, confirm, strong, gating); a row only one run holds, or held with
another decision, differs. Prints JSON lines: one per run (verdict, wall s), then
`identical_signal_fraction` (bar 0.999) and `differing_signal_rows` (bar 0), and the first
differing row of each kind (only in A, only in B, changed) so a reader can start there.
Then `differing_fault_records` (bar 0): the two fault histories in market time, each fault by
id: a feed fault's exact first and last events (session ms, stream, id) and what the feed
delivered and skipped in its window; a process or store fault (a wall-clock action) its
planned market time, so the seeded schedules are compared too.

    python benchmarks/reproducibility.py [--seed 42] [--minutes 60] [--keep DIR]
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_soak_evidence.sinks import jsonl_path, read_jsonl_signals

ROOT = _bootstrap.REPO
DECISION = ("score", "confirm", "strong", "gating")
BAR_FRACTION = 0.999


def decisions(run_dir: Path) -> dict[str, tuple]:
    """row_id -> its decision, from the run's JSONL sink."""
    rows = read_jsonl_signals(jsonl_path(run_dir)).rows
    return {str(r["row_id"]): tuple(r.get(k) for k in DECISION) for r in rows}


def _event(applied: dict | None, end: str) -> tuple | None:
    event = (applied or {}).get(end) or {}
    return (event.get("session_ms"), event.get("stream"), event.get("id")) if event else None


def fault_history(run_dir: Path) -> dict[str, tuple]:
    """fault id -> what it was in market time (harness_observations.json's fault records)."""
    obs = json.loads((run_dir / "harness_observations.json").read_text(encoding="utf-8"))
    out = {}
    for f in obs.get("faults") or []:
        base = (f.get("kind"), f.get("target"), f.get("planned_start_s"), f.get("planned_end_s"))
        if f.get("applied_by") == "feed":
            applied = f.get("applied") or {}
            window = applied.get("in_window") or {}
            base += (_event(applied, "start"), _event(applied, "end"),
                     window.get("delivered"), window.get("skipped"))
        out[str(f.get("id"))] = base
    return out


def compare(a: dict[str, tuple], b: dict[str, tuple]) -> dict:
    union = set(a) | set(b)
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    changed = sorted(r for r in set(a) & set(b) if a[r] != b[r])
    differing = len(only_a) + len(only_b) + len(changed)
    return {"rows": len(union), "differing": differing,
            "identical_fraction": (len(union) - differing) / len(union) if union else 0.0,
            "first_only_a": only_a[:1], "first_only_b": only_b[:1],
            "first_changed": [{"row_id": r, "a": a[r], "b": b[r]} for r in changed[:1]]}


def gate(seed: int, minutes: float, where: Path) -> Path:
    started = time.monotonic()
    argv = [sys.executable, "-m", "pytest", "suites/soak", "-q", "-p", "no:cacheprovider",
            "--soak-seed", str(seed), "--soak-minutes", f"{minutes:g}", "--soak-run-dir",
            str(where), "--soak-keep"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    runs = sorted(p.parent for p in where.glob("*/dod.json"))
    if not runs:
        raise SystemExit(f"the gate wrote no dod.json:\n{done.stdout[-3000:]}")
    verdict = json.loads((runs[-1] / "dod.json").read_text(encoding="utf-8"))["verdict"]
    print(json.dumps({"run": str(runs[-1]), "verdict": verdict,
                      "wall_s": round(time.monotonic() - started, 1)}), flush=True)
    return runs[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep both run folders under this folder (a/ and b/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reproducibility-") as tmp:
        where = args.keep or Path(tmp)
        a = gate(args.seed, args.minutes, where / "a")
        b = gate(args.seed, args.minutes, where / "b")
        result = compare(decisions(a), decisions(b))
        faults = compare(fault_history(a), fault_history(b))
    print(json.dumps({"metric": "identical_signal_fraction",
                      "value": round(result["identical_fraction"], 6), "unit": "fraction",
                      "bar": BAR_FRACTION}))
    print(json.dumps({"metric": "differing_signal_rows", "value": result["differing"],
                      "unit": "rows", "bar": 0}))
    print(json.dumps({"metric": "differing_fault_records", "value": faults["differing"],
                      "unit": "faults", "bar": 0, "faults": faults["rows"],
                      "first_changed": faults["first_changed"]}, default=str))
    print(json.dumps({"rows": result["rows"], "first_only_a": result["first_only_a"],
                      "first_only_b": result["first_only_b"],
                      "first_changed": result["first_changed"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
