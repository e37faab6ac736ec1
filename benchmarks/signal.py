"""Signal stage throughput: `python benchmarks/signal.py` (from the repo root).

signal_events_per_s: market records per second through the reorder buffer (event-time order,
orchestrator/signal/reorder.py), SignalEngine and serialisation into the dual sink (JSONL +
SQLite, batches of 2 000 records as the stage reads them), at max speed.
reorder_events_per_s: records per second through the reorder buffer alone (add + release).
sqlite_rows_per_s: signal rows per second into the SQLite sink alone.
The input is a deterministic 15-minute, 2-symbol recording from the replay feed's generator
(bookTicker, depth@100ms and aggTrade in realistic proportions). Median of 3 runs each.
Wall-clock rates depend on what else runs on the machine: the first line also carries the
rate per CPU-second of this process and the 1-minute load average.
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator.signal.config import SignalConfig
from orchestrator.signal.engine import SignalEngine
from orchestrator.signal.reorder import ReorderBuffer
from orchestrator.sinks import open_sink
from orchestrator.sinks.base import encode_row
from pytest_soak.replay_feed.generator import MarketGenerator

BATCH = 2000
RUNS = 3


def market_records(minutes: float = 15) -> list[dict]:
    return list(MarketGenerator(seed=11, symbols=2).records(minutes))


def ordered_batches(records: list[dict], buffer: ReorderBuffer):
    """The records in batches of BATCH, each as the reorder buffer releases it (as the stage)."""
    for i in range(0, len(records), BATCH):
        for offset, record in enumerate(records[i:i + BATCH], i):
            buffer.add((1, offset), record)
        yield buffer.release()
    yield buffer.flush()


def run_reorder(records: list[dict]) -> float:
    cfg = SignalConfig.from_section({})
    start = time.perf_counter()
    count = sum(map(len, ordered_batches(records, ReorderBuffer(cfg.reorder_lateness_ms,
                                                                cfg.reorder_max_events))))
    assert count == len(records)
    return count / (time.perf_counter() - start)


def run_signal(records: list[dict], sinks_dir: Path) -> tuple[float, float, list[dict]]:
    cfg = SignalConfig.from_section({})
    engine = SignalEngine(cfg)
    sink = open_sink("dual", sinks_dir)
    all_rows: list[dict] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in ordered_batches(records, ReorderBuffer(cfg.reorder_lateness_ms,
                                                        cfg.reorder_max_events)):
        rows = [row for row in map(engine.process, batch) if row is not None]
        sink.write_batch(rows, [encode_row(row) for row in rows])
        all_rows.extend(rows)
    sink.close()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return len(records) / wall, len(records) / cpu, all_rows


def run_sqlite(rows: list[dict], sinks_dir: Path) -> float:
    sink = open_sink("sqlite", sinks_dir)
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        sink.write_batch(rows[i:i + BATCH])
    sink.close()
    return len(rows) / (time.perf_counter() - start)


def main() -> None:
    records = market_records()
    events, events_cpu, sqlite_rows, reorder = [], [], [], []
    for _ in range(RUNS):
        reorder.append(run_reorder(records))
        with tempfile.TemporaryDirectory() as tmp:
            rate, cpu_rate, rows = run_signal(records, Path(tmp) / "dual")
            events.append(rate)
            events_cpu.append(cpu_rate)
            sqlite_rows.append(run_sqlite(rows, Path(tmp) / "sqlite"))
    print(json.dumps({"metric": "signal_events_per_s", "value": round(statistics.median(events)),
                      "unit": "events/s", "bar": 30000, "records": len(records),
                      "rows": len(rows),
                      # per second of this process's own CPU: what a busy machine hides
                      "events_per_cpu_s": round(statistics.median(events_cpu)),
                      "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg")
                      else None}))
    print(json.dumps({"metric": "reorder_events_per_s", "value": round(statistics.median(reorder)),
                      "unit": "events/s", "bar": None}))
    print(json.dumps({"metric": "sqlite_rows_per_s", "value": round(statistics.median(sqlite_rows)),
                      "unit": "rows/s", "bar": None}))


if __name__ == "__main__":
    main()
