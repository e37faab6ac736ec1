"""Signal latency as the harness measures it: feed sent -> row first visible in each sink.

The replay feed notes when it sent each aggTrade (replay_feed/sent_log.py, written to
`harness/feed_sent.bin` at its stop); the harness's sink watch (sink_watch.py) notes when each
signal row first became visible in each sink. A row is one aggTrade's signal, named by
`(symbol, agg_id)`, so its latency is `visible - sent` (both the wall clock of one machine, in
microseconds). The visible time is an upper bound (one poll interval, `poll_ms`, is part of
every figure), so the figures are upper bounds too.

`signal_latency.json` (schemas/signal_latency.schema.json) holds per sink the count of rows
seen, matched to a sent trade, unmatched, and p50 / p99 / max / mean / min in ms. Percentiles
are nearest-rank (`p_q` is the smallest value with at least q % of the values at or below it:
no interpolation, always a measured value). In LIVE mode (1x) the figures are the pipeline's
real latency; in REPLAY mode they are wall latency at the soak's speed (the feed sends `speed`x
faster, and the reorder watermark, in event-time ms, is `lateness / speed` wall ms), labelled so.
The figures count the rows first seen from the market clock's start (the soak's own window;
start-up rows are `before_start`); a fault window (a killed stage's restart, a paused feed)
counts, and shows in the max and the tail, as a consumer would see it.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from pathlib import Path
from typing import Any

from pytest_soak.replay_feed.sent_log import FILE_NAME as SENT_LOG_FILE
from pytest_soak.replay_feed.sent_log import SentLog
from pytest_soak.sink_watch import SeenRows, SinkWatch
from pytest_soak_evidence.atomic import write_json_atomic
from pytest_soak_evidence.schemas import violations

LATENCY_FILE = "signal_latency.json"
SENT_LOG = f"harness/{SENT_LOG_FILE}"
PIPELINE_CONFIG = "harness/pipeline_config.yaml"
SINK_FILES = {"jsonl": "sinks/signals.jsonl", "sqlite": "sinks/signals.sqlite"}
WORST = 5                      # slowest rows kept per sink


def nearest_rank(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) of ascending values by the nearest-rank method."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def stats_ms(latencies_us: list[int]) -> dict[str, float | None]:
    """p50, p99, max, mean and min in ms (0.1 ms) of latencies in us; None for none."""
    if not latencies_us:
        return dict.fromkeys(("p50_ms", "p99_ms", "max_ms", "mean_ms", "min_ms"))
    values = sorted(latencies_us)
    ms = lambda us: round(us / 1000, 1)   # noqa: E731 - one unit conversion, five uses
    return {"p50_ms": ms(nearest_rank(values, 50)), "p99_ms": ms(nearest_rank(values, 99)),
            "max_ms": ms(values[-1]), "mean_ms": ms(sum(values) / len(values)),
            "min_ms": ms(values[0])}


class SentIndex:
    """The feed's sent times, looked up by (symbol, id); the first send of an id wins."""

    def __init__(self, log: SentLog) -> None:
        self._sorted: dict[str, tuple[Any, Any]] = {}
        for symbol, ids in log.ids.items():
            times = log.sent_us[symbol]
            if all(a < b for a, b in zip(ids, ids[1:], strict=False)):  # the feed order: kept as is
                self._sorted[symbol] = (ids, times)
            else:
                order = sorted(range(len(ids)), key=ids.__getitem__)   # stable: first wins
                self._sorted[symbol] = ([ids[i] for i in order], [times[i] for i in order])

    def sent_us(self, symbol: str, agg_id: int) -> int | None:
        found = self._sorted.get(symbol)
        if found is None:
            return None
        ids, times = found
        at = bisect_left(ids, agg_id)
        return times[at] if at < len(ids) and ids[at] == agg_id else None


def match(index: SentIndex, seen: SeenRows, from_us: int = 0
          ) -> tuple[list[int], int, list[dict], int]:
    """Latencies (us) of the rows a sink showed from `from_us` on that the feed sent, how many
    it did not, the WORST slowest rows (where a max came from), and the rows seen earlier."""
    latencies: list[int] = []
    unmatched = before = 0
    slowest: list[tuple[int, str, int, int]] = []
    for symbol, ids in seen.ids.items():
        for agg_id, visible_us in zip(ids, seen.seen_us[symbol], strict=True):
            if visible_us < from_us:
                before += 1
                continue
            sent = index.sent_us(symbol, agg_id)
            if sent is None:
                unmatched += 1
                continue
            latencies.append(visible_us - sent)
            item = (visible_us - sent, symbol, agg_id, visible_us)
            if len(slowest) < WORST:
                heapq.heappush(slowest, item)
            elif item > slowest[0]:
                heapq.heapreplace(slowest, item)
    worst = [{"symbol": s, "agg_id": a, "latency_ms": round(us / 1000, 1),
              "visible_ms": v // 1000} for us, s, a, v in sorted(slowest, reverse=True)]
    return latencies, unmatched, worst, before


def label(mode: str, speed: float) -> str:
    if mode == "live":
        return f"signal latency, LIVE at {speed:g}x: the pipeline's real wall latency"
    return (f"wall latency at {speed:g}x speed (REPLAY): the feed sends {speed:g}x faster and "
            f"the event-time watermark is 1/{speed:g} of its wall span; not the LIVE figure")


def reorder_lateness_ms(run_dir: Path) -> float | None:
    """signal.reorder_lateness_ms of the pipeline config the harness rendered, if it has one."""
    try:
        import yaml
        config = yaml.safe_load((run_dir / PIPELINE_CONFIG).read_text(encoding="utf-8"))
        value = ((config or {}).get("signal") or {}).get("reorder_lateness_ms")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def build(run_dir: Path, run_id: str, mode: str, speed: float, watch: SinkWatch,
          sent_log: Path | None, from_ms: int | None = None) -> dict[str, Any]:
    """The signal_latency.json document (figures null, and `error` why, without a sent log),
    over the rows first seen at or after `from_ms` (the market clock's start: the soak's own
    window, as health counts only after it; earlier rows are counted in `before_start`)."""
    lateness = reorder_lateness_ms(run_dir)
    index, error = None, None
    sent_count = None
    if sent_log is None:
        error = "no replay feed: nothing says when a trade was sent"
    else:
        try:
            log = SentLog.load(sent_log)
            index, sent_count = SentIndex(log), len(log)
        except (OSError, ValueError) as exc:
            error = f"{SENT_LOG}: {type(exc).__name__}: {exc}"
    sinks = {}
    for name, seen in watch.seen.items():
        if index is not None:
            latencies, unmatched, worst, before = match(index, seen, (from_ms or 0) * 1000)
        else:
            latencies, unmatched, worst, before = [], seen.rows, [], 0
        sinks[name] = {"file": SINK_FILES[name], "rows_seen": seen.rows,
                       "matched": len(latencies), "unmatched": unmatched,
                       "before_start": before,
                       "unnamed": seen.unnamed, **watch.counters(name), **stats_ms(latencies),
                       "worst": worst}
    return {"schema_version": 1, "run_id": run_id, "mode": mode, "speed": speed,
            "label": label(mode, speed),
            "measure": "row first visible in the sink (harness poll, upper bound) minus the "
                       "feed's send of its aggTrade (same wall clock)",
            "poll_ms": watch.poll_ms, "percentile_method": "nearest-rank", "from_ms": from_ms,
            "reorder_lateness_ms": lateness,
            "watermark_wall_ms": None if lateness is None else round(lateness / speed, 3),
            "sent_log": SENT_LOG if sent_log is not None else None, "sent_trades": sent_count,
            "watch": {"polls": watch.polls, "started_ms": watch.started_ms,
                      "stopped_ms": watch.stopped_ms, "errors": list(watch.errors)},
            "sinks": sinks, "error": error}


def write(run_dir: Path | str, run_id: str, mode: str, speed: float, watch: SinkWatch,
          sent_log: Path | None, from_ms: int | None = None) -> dict[str, Any]:
    """Build, validate (a violation is recorded in `error`, the file is written anyway, as
    harness_observations.json is) and write `<run_dir>/signal_latency.json`."""
    run_dir = Path(run_dir)
    doc = build(run_dir, run_id, mode, speed, watch, sent_log, from_ms)
    problems = violations(doc, "signal_latency")
    if problems:
        doc["error"] = "; ".join([doc["error"] or "", *problems[:5]]).lstrip("; ")
    write_json_atomic(run_dir / LATENCY_FILE, doc)
    return doc


def summary_line(doc: dict | None) -> str | None:
    """One line for the DoD summary: each sink's p50 / p99 / max, labelled by mode."""
    if not isinstance(doc, dict) or not doc.get("sinks"):
        return None
    mode = "LIVE" if doc.get("mode") == "live" else "REPLAY, wall at speed"
    parts = []
    for name, sink in doc["sinks"].items():
        if sink.get("p99_ms") is None:
            parts.append(f"{name} no matched rows")
        else:
            parts.append(f"{name} p50 {sink['p50_ms']:g} / p99 {sink['p99_ms']:g} / max "
                         f"{sink['max_ms']:g} ms (n={sink['matched']})")
    tail = f"; {doc['error']}" if doc.get("error") else ""
    return (f"signal latency ({mode} {doc.get('speed', 0):g}x, poll {doc.get('poll_ms')} ms "
            f"included): " + ", ".join(parts) + tail)
