"""D7 harvester SLO: queue_dropped == 0, substream_timeout_detected == false,
reconnect_count <= 3 -- each counted outside the windows where the harness induced it.

harvest records the time of every increment of each counter, so the harness can tell its own
faults (a burst overflowing the queue, a stalled sub-stream, dropped connections) from the
rest. An increment counts as induced when it falls in a window of the fault kind that causes
it (plus the settle margin), by wall clock or by event time, whichever the pipeline recorded.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

# counter -> (fault kinds that induce it, how many non-induced increments are allowed)
INDUCED_BY = {
    "queue_dropped": ("burst",),
    "substream_timeout": ("stall_substream",),
    "reconnect": ("drop_connections", "kill_stage"),
}


def increment_times(metrics: dict, name: str) -> list[int] | None:
    """The recorded times of a counter's increments, wherever harvest put them."""
    for key in (f"{name}_times_ms", f"{name}_at_ms", f"{name}_ms", f"{name}_count_times_ms",
                f"{name}_detected_times_ms"):
        if isinstance(metrics.get(key), list):
            return [int(x) for x in metrics[key] if isinstance(x, int | float)]
    nested = metrics.get("increments") or metrics.get("timestamps") or {}
    for key in (name, f"{name}_count", f"{name}_detected"):
        if isinstance(nested.get(key), list):
            return [int(x) for x in nested[key] if isinstance(x, int | float)]
    return None


def _induced(run: RunEvidence, t_ms: int, kinds: tuple[str, ...], t: Thresholds) -> bool:
    speed = float((run.observations or {}).get("speed") or 1)
    for fault in run.faults:
        if fault.get("kind") not in kinds:
            continue
        for start, end, settle_ms in (
                (fault.get("started_ms"), fault.get("ended_ms"), t.settle_s / speed * 1000),
                (fault.get("start_event_ms"), fault.get("end_event_ms"), t.settle_s * 1000)):
            if start is not None and start <= t_ms <= (end or start) + settle_ms:
                return True
    return False


def _counter(run: RunEvidence, hm: dict, name: str, total: Any, allowed: int,
             t: Thresholds) -> ItemResult:
    evidence = [MANIFEST, OBSERVATIONS]
    if total is None:
        return failed(name, f"harvester_metrics has no {name} figure", evidence=evidence)
    count = int(total)
    if count <= allowed:
        return passed(name, f"{name} {count} <= {allowed} in total", count, allowed, evidence)
    times = increment_times(hm, name)
    if not any(f.get("kind") in INDUCED_BY[name] for f in run.faults):
        return failed(name, f"{name} is {count} and the harness induced none", count, allowed,
                      evidence)
    if times is None:
        return unknown(name, f"{name} is {count} and harvest recorded no increment times, so "
                       "induced and spontaneous ones cannot be told apart", count, allowed,
                       evidence)
    stray = [x for x in times if not _induced(run, x, INDUCED_BY[name], t)]
    untimed = max(0, count - len(times))
    outside = len(stray) + untimed
    text = f"{name}: {outside} outside induced windows ({count - outside} induced)"
    if outside <= allowed:
        return passed(name, text, outside, allowed, evidence)
    return failed(name, f"{text}, allowed {allowed}", outside, allowed, evidence)


def check_D7(run: RunEvidence, t: Thresholds) -> ItemResult:
    _obs, why = need(run, OBSERVATIONS, "D7")
    if why:
        return why
    stop = interrupted(run, "D7")
    if stop:
        return stop
    manifest, why = need(run, MANIFEST, "D7")
    if why:
        return why
    hm = manifest.get("harvester_metrics")
    if not isinstance(hm, dict) or not hm:
        return failed("D7", "run_manifest.harvester_metrics is absent or empty",
                      evidence=[MANIFEST])
    substream = hm.get("substream_timeout_detected")
    substream_count = hm.get("substream_timeout_count",
                             None if substream is None else int(bool(substream)))
    return combine("D7", [
        _counter(run, hm, "queue_dropped", hm.get("queue_dropped"), 0, t),
        _counter(run, hm, "substream_timeout", substream_count, 0, t),
        _counter(run, hm, "reconnect", hm.get("reconnect_count"), t.max_reconnects, t),
    ])
