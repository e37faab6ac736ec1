"""`python -m orchestrator.parity RUN_DIR`: recompute dual-sink parity, write parity_diff.json.

Exit 0 when the sinks agree within the tolerance, 1 when they differ (or cannot be compared),
2 on a usage error (no such run directory).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_soak_evidence.parity import TOLERANCE_PCT, write_parity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.parity", description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--tolerance-pct", type=float, default=TOLERANCE_PCT)
    args = parser.parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"parity: run directory {args.run_dir} does not exist", file=sys.stderr)
        return 2
    path = write_parity(args.run_dir, args.tolerance_pct)
    doc = json.loads(path.read_text(encoding="utf-8"))
    summary = {"parity_diff": str(path), "comparable": doc["comparable"],
               "max_diff_pct": doc["max_diff_pct"], "within_tolerance": doc["within_tolerance"],
               "totals": doc["totals"], "missing_in_jsonl": doc["window"]["missing_in_jsonl"],
               "missing_in_sqlite": doc["window"]["missing_in_sqlite"]}
    print(json.dumps(summary, indent=2))
    return 0 if doc["within_tolerance"] else 1


if __name__ == "__main__":
    sys.exit(main())
