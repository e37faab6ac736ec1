"""Outbox throughput: events/s appended and published with fsync every 1, 100 and 1000 writes.

Prints one JSON line per metric (median of REPEATS runs); bar: >= 50 000 events/s at 1000.
"""

from __future__ import annotations

import _bootstrap  # noqa: F401 - first: fixes sys.path

import json
import statistics
import tempfile
import time

from tests.outbox.contract_events import BASE_TS_MS, make_event, make_outbox

REPEATS = 3
EVENTS = {1: 2_000, 100: 50_000, 1000: 100_000}
BAR = {1000: 50_000.0}


def events_per_s(fsync_every: int, count: int) -> float:
    lines = [json.dumps(make_event(seq, BASE_TS_MS + seq)) for seq in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        outbox = make_outbox(tmp, fsync_every=fsync_every)
        start = time.perf_counter()
        for seq, line in enumerate(lines):
            outbox.append_line(line, BASE_TS_MS + seq)
        outbox.close()
        return count / (time.perf_counter() - start)


def events_per_s_serialising(count: int) -> float:
    events = [make_event(seq, BASE_TS_MS + seq) for seq in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        outbox = make_outbox(tmp, fsync_every=1000)
        start = time.perf_counter()
        for event in events:
            outbox.append(event)
        outbox.close()
        return count / (time.perf_counter() - start)


def main() -> None:
    for fsync_every, count in EVENTS.items():
        value = statistics.median(events_per_s(fsync_every, count) for _ in range(REPEATS))
        print(json.dumps({"metric": f"outbox_events_per_s_fsync_{fsync_every}",
                          "value": round(value, 1), "unit": "events/s",
                          "bar": BAR.get(fsync_every)}))
    value = statistics.median(events_per_s_serialising(50_000) for _ in range(REPEATS))
    print(json.dumps({"metric": "outbox_events_per_s_fsync_1000_with_json_dumps",
                      "value": round(value, 1), "unit": "events/s", "bar": None}))


if __name__ == "__main__":
    main()
