"""Durable handoff throughput: append (one write(2) per record, fsync every 1000) and read.
Small records (bar 100 000/s) and full aggTrade recording-format records (bar 30 000/s, the
architecture's figure). Median of 5 runs of 100 000 records each.

    python benchmarks/handoff.py"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.handoff import HandoffReader, HandoffWriter

RECORDS = 100_000
RUNS = 5


def record(i: int) -> dict:
    return {"recv_ms": 1_700_000_000_000 + i, "stream": "btcusdt@aggTrade",
            "data": {"e": "aggTrade", "E": 1_700_000_000_000 + i, "s": "BTCUSDT", "a": i,
                     "p": "65000.1", "q": "0.010", "T": 1_700_000_000_000 + i, "m": False}}


def small(i: int) -> dict:
    return {"seq": i, "ts_ms": 1_700_000_000_000 + i}


def one_run(topic: Path, make=record) -> tuple[float, float]:
    records = [make(i) for i in range(RECORDS)]
    writer = HandoffWriter(topic)
    started = time.perf_counter()
    for rec in records:
        writer.append(rec)
    writer.flush()
    append_rate = RECORDS / (time.perf_counter() - started)
    writer.close()
    reader = HandoffReader(topic, "bench")
    started = time.perf_counter()
    count = 0
    while batch := reader.read(5000):
        count += len(batch)
    assert count == RECORDS
    return append_rate, count / (time.perf_counter() - started)


def main() -> int:
    figures: dict[str, list[float]] = {}
    for i in range(RUNS):
        for kind, make in (("small", small), ("aggtrade", record)):
            with tempfile.TemporaryDirectory(prefix="bench_handoff_") as tmp:
                append, read = one_run(Path(tmp) / f"t{i}", make)
            figures.setdefault(f"handoff_append_{kind}_per_s", []).append(append)
            figures.setdefault(f"handoff_read_{kind}_per_s", []).append(read)
    bars = {"handoff_append_small_per_s": 100_000, "handoff_append_aggtrade_per_s": 30_000}
    for metric, values in figures.items():
        print(json.dumps({"metric": metric, "value": round(statistics.median(values)),
                          "unit": "records/s", "bar": bars.get(metric)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
