"""The shipped Prometheus alert rules' per-minute input series, rebuilt by the harness from a
run folder, as a `promtool test rules` file whose expected alerts are the pipeline's own.

Market time, every mode: promtool's clock starts at 0, so promtool time T stands for market
(event) time `origin_ms + T`, where origin_ms is the start of the first evaluated minute. The
sample at T = k minutes carries the market minute that ENDS at origin + k min (the report stage
pushes a minute once it closed, and stamps its alerts with that minute's end), so an evaluation
at k minutes is the engine's evaluation of that minute. The sample at 0 is the "before the run"
point: no signal series, queue_dropped 0 (the engine's first minute compares with 0).

What the series are made of (never the pipeline's report, nor the store's read-back):
- soak_last_minute_{total,strong,low_consistency}{symbol}: summed from the sink rows
  (checks/aggregates.minute_counts), every symbol the sinks hold, 0 in a minute without rows;
- soak_alert_strong_ratio_baseline_{median,minutes}: the collapse baseline recomputed by the
  harness from those sums with the declared rule parameters (docs/report.md: qualifying,
  non-collapsed minutes enter it), as it stood BEFORE the minute (what the engine pushes
  with the minute's batch) -- not the pipeline's pushed baseline, not the store's last value;
- soak_harvester_queue_dropped: harvest's timestamped queue_dropped increments (the counter D7
  judges), each placed in market time through the harness's own market clock (its health
  polls' `market_s`) and counted from the first minute whose close (end + lateness_s) it
  precedes.
export_failing is not rebuilt: its input, push_time_seconds, is stamped by the Pushgateway at
each successful push and the harness keeps no per-minute record of the pushes.
"""

from __future__ import annotations

import bisect
import functools
import statistics
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import pytest_soak
from pytest_soak.checks.aggregates import MINUTE_MS, minute_counts
from pytest_soak.checks.harvester import increments
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak_evidence.carried import carried

RULES_FILE = carried(pytest_soak.__file__, "fixtures/prometheus") / "soak_alerts.rules.yml"
CROSSCHECKED = ("no_data", "low_consistency", "strong_ratio_collapse", "data_drop")
COLLAPSE_KEYS = ("fraction", "baseline_minutes", "min_baseline_minutes", "min_signals",
                 "min_baseline_ratio")
FIRING_EXPR = 'max by (rule) (ALERTS{alertstate="firing",rule=~"%s"})'


class InputError(Exception):
    """The harness cannot rebuild the rules' inputs from this run folder (the reason)."""


@dataclass(frozen=True)
class ShippedRules:
    """The shipped rule file: each rule's alert name and its group's evaluation step."""

    path: Path
    alert_of: dict[str, str]
    step_ms: int

    @classmethod
    @functools.lru_cache(maxsize=4)     # one parse per process: every judgement reads it
    def load(cls, path: Path = RULES_FILE) -> ShippedRules:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        alert_of, step_ms = {}, MINUTE_MS
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                label = (rule.get("labels") or {}).get("rule")
                if rule.get("alert") and label:
                    alert_of[str(label)] = str(rule["alert"])
                    step_ms = duration_ms(str(group.get("interval", "1m")))
        return cls(path, alert_of, step_ms)


def duration_ms(text: str) -> int:
    """A Prometheus / Go duration ("1m", "1h5m", "90s", "5m0s") in ms."""
    units = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
             "m": MINUTE_MS, "s": 1000, "ms": 1}
    total, number = 0, ""
    i = 0
    while i < len(text):
        if text[i].isdigit() or text[i] == ".":
            number += text[i]
            i += 1
            continue
        unit = "ms" if text[i:i + 2] == "ms" else text[i]
        total += int(float(number or 0) * units[unit])
        number, i = "", i + len(unit)
    return total


@dataclass
class Inputs:
    """The rebuilt per-minute inputs: minute k (0-based) starts at origin_ms + k min."""

    origin_ms: int
    minutes: int
    counts: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    baseline: list[tuple[float, int]] = field(default_factory=list)
    queue_dropped: list[int] = field(default_factory=list)

    def totals(self, k: int) -> tuple[int, int, int]:
        """(total, strong, low_consistency) of minute k, all symbols summed."""
        per = [c[k] for c in self.counts.values()]
        return sum(p[0] for p in per), sum(p[1] for p in per), sum(p[2] for p in per)

    def end_ms(self, k: int) -> int:
        return self.origin_ms + (k + 1) * MINUTE_MS


def _rows(run: RunEvidence) -> list[dict]:
    for rows in run.sink_rows.values():
        if isinstance(rows, list):
            return rows
    raise InputError(f"no readable sink ({', '.join(run.sink_rows) or 'none written'})")


def collapse_baseline(sums: list[tuple[int, int, int]], cfg: dict[str, float]
                      ) -> list[tuple[float, int]]:
    """(median or 0, minutes in it) before each minute, per docs/report.md: a minute with
    total >= min_signals enters the trailing baseline unless it is itself collapsed."""
    ratios: deque[float] = deque(maxlen=int(cfg["baseline_minutes"]))
    out = []
    for total, strong, _low in sums:
        median = statistics.median(ratios) if ratios else None
        out.append((median or 0.0, len(ratios)))
        ratio = strong / total if total else 0.0
        qualifies = total >= cfg["min_signals"]
        evaluable = (qualifies and median is not None
                     and len(ratios) >= cfg["min_baseline_minutes"]
                     and median >= cfg["min_baseline_ratio"])
        if qualifies and not (evaluable and ratio < cfg["fraction"] * (median or 0.0)):
            ratios.append(ratio)
    return out


def _collapse_config(report: dict) -> dict[str, float]:
    cfg = ((report.get("alerts") or {}).get("strong_ratio_collapse") or {})
    missing = [k for k in COLLAPSE_KEYS if not isinstance(cfg.get(k), int | float)]
    if missing:
        raise InputError("harness/pipeline_config.yaml: report.alerts.strong_ratio_collapse."
                         f"{'/'.join(missing)} not declared (the baseline cannot be rebuilt)")
    return {k: float(cfg[k]) for k in COLLAPSE_KEYS}


def market_of_wall(run: RunEvidence) -> Any:
    """wall ms -> market (event) ms through the harness's own clock: its health polls'
    market_s, linearly between polls (a slowed feed slows the clock: the polls show it)."""
    obs = run.observations or {}
    start = (obs.get("market_clock") or {}).get("start_event_ms")
    polls = sorted((int(p["t_ms"]), float(p["market_s"])) for p in run.samples("health")
                   if isinstance(p.get("t_ms"), int | float)
                   and isinstance(p.get("market_s"), int | float))
    if not isinstance(start, int | float) or len(polls) < 2:
        raise InputError("no market clock to place harvest's queue_dropped increments by "
                         "(market_clock.start_event_ms and two health polls needed)")
    walls = [w for w, _ in polls]
    speed = float(obs.get("speed") or 1)

    def convert(wall_ms: int) -> int:
        i = min(max(bisect.bisect_right(walls, wall_ms), 1), len(polls) - 1)
        (w0, s0), (w1, s1) = polls[i - 1], polls[i]
        rate = (s1 - s0) / (w1 - w0) if w1 > w0 else speed / 1000
        return int(start + (s0 + (wall_ms - w0) * rate) * 1000)
    return convert


def queue_dropped_seen(run: RunEvidence, ends_ms: list[int], lateness_ms: int) -> list[int]:
    """harvest's queue_dropped as the engine read it when each minute closed (end +
    lateness), by the feed's clock: a span of increments spread evenly over its market time.
    The engine's watermark can lag the feed's clock under load (a burst), so it may have
    read them up to that lag earlier: the cross-check's data_drop tolerance says how much."""
    counter = ((run.manifest or {}).get("harvester_metrics") or {}).get("queue_dropped")
    if isinstance(counter, int | float) and not isinstance(counter, bool) and counter == 0:
        return [0] * len(ends_ms)
    if not isinstance(counter, dict):
        raise InputError("run_manifest.harvester_metrics.queue_dropped carries no increment "
                         "times (a counter record with spans / timestamps_ms is needed)")
    to_market = market_of_wall(run)
    spans = [(to_market(a), to_market(b), n) for a, b, n in increments(counter)]

    def seen(close_ms: int) -> int:
        return round(sum(n if close_ms >= b else 0 if close_ms < a else
                         n * (close_ms - a) / (b - a) for a, b, n in spans))
    return [seen(end + lateness_ms) for end in ends_ms]


def rebuild(run: RunEvidence, report: dict) -> Inputs:
    """The rules' inputs over every minute from the sinks' first to their last full one (the
    last minute holding rows is the run's cut-short one, which the engine does not judge)."""
    per_minute = minute_counts(_rows(run))
    if len(per_minute) < 2:
        raise InputError("the sinks hold fewer than two minutes of signals")
    first, last = min(per_minute), max(per_minute)
    n = (last - first) // MINUTE_MS
    symbols = sorted({s for by in per_minute.values() for s in by})
    inputs = Inputs(first, n)
    for symbol in symbols:
        inputs.counts[symbol] = [per_minute.get(first + k * MINUTE_MS, {}).get(
            symbol, (0, 0, 0)) for k in range(n)]
    inputs.baseline = collapse_baseline([inputs.totals(k) for k in range(n)],
                                        _collapse_config(report))
    lateness = report.get("lateness_s")
    if not isinstance(lateness, int | float):
        raise InputError("harness/pipeline_config.yaml: report.lateness_s not declared")
    inputs.queue_dropped = queue_dropped_seen(run, [inputs.end_ms(k) for k in range(n)],
                                              int(lateness * 1000))
    return inputs


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _series(name: str, labels: dict[str, str], values: list[Any]) -> dict[str, str]:
    body = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": " ".join(
        "_" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in values)}


def input_series(inputs: Inputs, run_id: str) -> list[dict[str, str]]:
    base = {"job": "soak_report", "run_id": run_id, "instance": "run"}
    out = []
    for symbol, counts in inputs.counts.items():
        for i, name in enumerate(("total", "strong", "low_consistency")):
            out.append(_series(f"soak_last_minute_{name}", {**base, "symbol": symbol},
                               [None] + [c[i] for c in counts]))
    out.append(_series("soak_alert_strong_ratio_baseline_median", base,
                       [None] + [round(m, 9) for m, _ in inputs.baseline]))
    out.append(_series("soak_alert_strong_ratio_baseline_minutes", base,
                       [None] + [n for _, n in inputs.baseline]))
    out.append(_series("soak_harvester_queue_dropped", base, [0] + inputs.queue_dropped))
    return out


def promtool_test_file(inputs: Inputs, run_id: str, rules_name: str,
                  expected: list[list[str]]) -> str:
    """The promtool test file: `expected[k]` lists the rules the pipeline had firing at the
    evaluation k + 1 minutes (the end of minute k); one expression test per minute."""
    expr = FIRING_EXPR % "|".join(CROSSCHECKED)
    tests = [{"expr": expr, "eval_time": f"{k + 1}m",
              "exp_samples": [{"labels": f'{{rule="{r}"}}', "value": 1} for r in sorted(rules)]}
             for k, rules in enumerate(expected)]
    doc = {"rule_files": [rules_name], "evaluation_interval": "1m",
           "tests": [{"name": f"run {run_id}: the pipeline's alerts against the shipped rules",
                      "interval": "1m", "input_series": input_series(inputs, run_id),
                      "promql_expr_test": tests}]}
    from datetime import UTC, datetime
    origin = datetime.fromtimestamp(inputs.origin_ms / 1000, UTC).isoformat()
    header = (f"# Generated by the harness (pytest_soak/checks/promtool_series.py) for D3's\n"
              f"# promtool cross-check. Rerun: cd <this folder> && promtool test rules \\\n"
              f"#   <this file>\n"
              f"# promtool time T = market time {origin} ({inputs.origin_ms} ms) + T; the\n"
              f"# sample at T = k min is the market minute ending then; exp_samples are the\n"
              f"# rules the pipeline's run_manifest.alerts had firing at that minute end.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, width=10_000)
