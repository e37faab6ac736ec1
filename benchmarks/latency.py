"""Signal latency at 1x, measured by the harness: a short LIVE soak of the reference pipeline
(no faults), then each sink's p50 / p99 / max from the run's signal_latency.json (the replay
feed's send of each aggTrade -> its signal row first visible in the sink, the harness polling
every 10 ms: pytest_soak/latency.py).

    python benchmarks/latency.py [--minutes 3] [--sink dual] [--keep DIR]

Prints JSON lines: `signal_latency_p99_ms` per sink (bar: 100 ms + the configured reorder
watermark in wall ms, read from the run's rendered pipeline config: reorder_lateness_ms / speed,
40 ms at 1x), then `signal_latency_p50_ms` and `signal_latency_max_ms` per sink, and the run.
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pytest_soak.latency import LATENCY_FILE
from pytest_soak.session import SoakSession
from pytest_soak.settings import SoakSettings

ROOT = _bootstrap.REPO
BASE_BAR_MS = 100.0


def emit(metric: str, value: float | None, unit: str = "ms", bar: float | None = None,
         **extra: object) -> None:
    print(json.dumps({"metric": metric, "value": value, "unit": unit, "bar": bar, **extra}),
          flush=True)


def soak(minutes: float, sink: str, run_dir: Path) -> Path:
    settings = SoakSettings.from_values({
        "soak_mode": "live", "soak_minutes": f"{minutes:g}", "soak_schedule": "none",
        "soak_sink": sink, "soak_run_dir": str(run_dir), "soak_timeseries": "none",
        "soak_config": str(ROOT / "fixtures" / "soak" / "reference_pipeline.yaml")}, root=ROOT)
    # the store is off: no export sits on the path from the feed to the sinks
    return SoakSession(settings, sink=sink).run().run_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--sink", default="dual", choices=["dual", "jsonl", "sqlite"])
    parser.add_argument("--keep", type=Path, help="soak into this folder and keep the run")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp:
        run = soak(args.minutes, args.sink, args.keep or Path(tmp))
        doc = json.loads((run / LATENCY_FILE).read_text(encoding="utf-8"))
    watermark = doc["watermark_wall_ms"]
    bar = None if watermark is None else round(BASE_BAR_MS + watermark, 1)
    for name, sink in doc["sinks"].items():
        emit("signal_latency_p99_ms", sink["p99_ms"], bar=bar, sink=name)
    for name, sink in doc["sinks"].items():
        emit("signal_latency_p50_ms", sink["p50_ms"], sink=name)
        emit("signal_latency_max_ms", sink["max_ms"], sink=name, rows=sink["matched"],
             unmatched=sink["unmatched"])
    print(json.dumps({"run": str(run), "mode": doc["mode"], "speed": doc["speed"],
                      "poll_ms": doc["poll_ms"], "reorder_lateness_ms": doc["reorder_lateness_ms"],
                      "error": doc["error"], "wall_s": round(time.monotonic() - started, 1)}),
          flush=True)
    return 0 if doc["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
