"""PNG plots of one run for the Allure report, drawn from the evidence after the run.

All x axes are market minutes from the run start, with the fault windows shaded, so a reviewer
lines up cause and effect at a glance: RSS per stage, signals per minute, health per stage,
the alert timeline (fired -> resolved), export failures per minute. Files land in
<run>/plots/*.png. Headless (Agg backend); a plot without data is drawn with a "no data" note.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pytest_soak.checks.aggregates import sink_aggregates  # noqa: E402
from pytest_soak.checks.alerts import alert_times  # noqa: E402
from pytest_soak.evidence_loader import RunEvidence  # noqa: E402
from pytest_soak.health import harness_healthy  # noqa: E402

FAULT_COLOUR = "#f4c7c3"
EVENT_TIME = re.compile(rb'"E":(\d+)')


class Clock:
    """Converts wall ms and event ms to market minutes from the run start."""

    def __init__(self, run: RunEvidence) -> None:
        obs = run.observations or {}
        clock = obs.get("market_clock") or {}
        self.start_event = clock.get("start_event_ms")
        self.start_wall = clock.get("start_wall_ms") or (obs.get("pipeline") or {}).get(
            "started_ms")
        self.speed = float(obs.get("speed") or 1)

    def from_wall(self, ms: float) -> float:
        return (ms - (self.start_wall or 0)) / 1000 * self.speed / 60

    def from_event(self, ms: float) -> float:
        return (ms - (self.start_event or 0)) / 60_000


def _shade(ax, run: RunEvidence) -> None:  # noqa: ANN001
    for fault in run.faults:
        start, end = fault.get("planned_start_s"), fault.get("planned_end_s")
        if start is None:
            continue
        end = max(end or start, start + 10)
        ax.axvspan(start / 60, end / 60, color=FAULT_COLOUR, alpha=0.6, lw=0, zorder=0)
        ax.text(start / 60, 1.0, fault.get("id", ""), rotation=90, fontsize=6, va="top",
                transform=ax.get_xaxis_transform())


def _save(fig, ax, run: RunEvidence, name: str, title: str, empty: bool) -> Path:  # noqa: ANN001
    _shade(ax, run)
    if empty:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.set_xlabel("market minutes from run start (fault windows shaded)")
    out = run.run_dir / "plots" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def rss_per_stage(run: RunEvidence) -> Path:
    clock = Clock(run)
    series = ((run.observations or {}).get("resources") or {}).get("rss_series") or {}
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for stage, points in sorted(series.items()):
        ax.plot([clock.from_wall(t) for t, _ in points], [mb for _, mb in points], label=stage)
    if series:
        ax.legend(fontsize=7)
    ax.set_ylabel("RSS (MB)")
    return _save(fig, ax, run, "rss.png", "RSS per stage (harness's psutil samples)", not series)


def market_events_per_minute(run: RunEvidence) -> Counter:
    """Events harvest handed on (handoff/market), per minute of their exchange event time."""
    counts: Counter = Counter()
    for seg in sorted((run.run_dir / "handoff" / "market").glob("*.jsonl")):
        with open(seg, "rb") as handle:
            for line in handle:
                found = EVENT_TIME.search(line)
                if found:
                    counts[int(found.group(1)) // 60_000 * 60_000] += 1
    return counts


def signals_per_minute(run: RunEvidence) -> Path:
    clock = Clock(run)
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), [])
    events = market_events_per_minute(run)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    agg = sink_aggregates(rows)
    minutes = sorted(agg["per_minute"])
    ax.bar([clock.from_event(m) for m in minutes], [agg["per_minute"][m] for m in minutes],
           width=0.8, align="edge", label="signals")
    confirm = Counter(int(r["ts_ms"]) // 60_000 * 60_000 for r in rows if r.get("confirm"))
    ax.bar([clock.from_event(m) for m in sorted(confirm)], [confirm[m] for m in sorted(confirm)],
           width=0.8, align="edge", label="confirmed signals")
    if events:
        ax.plot([clock.from_event(m) + 0.4 for m in sorted(events)],
                [events[m] for m in sorted(events)], color="#37474f", lw=1,
                label="market events (handoff)")
    if rows or events:
        ax.legend(fontsize=7)
    ax.set_yscale("symlog")
    ax.set_ylabel("per minute")
    return _save(fig, ax, run, "events.png", "Market events and signals per minute",
                 not rows and not events)


def health_per_stage(run: RunEvidence) -> Path:
    polls = run.samples("health")
    stages = sorted({s for p in polls for s in (p.get("stages") or {})})
    fig, ax = plt.subplots(figsize=(9, 0.6 * max(len(stages), 2) + 1.5))
    for i, stage in enumerate(stages):
        xs = [p["market_s"] / 60 for p in polls if p.get("market_s") is not None]
        ok = [harness_healthy(p, stage) for p in polls if p.get("market_s") is not None]
        ax.scatter(xs, [i] * len(xs), c=["#2e7d32" if h else "#c62828" for h in ok], s=6,
                   marker="s")
    ax.set_yticks(range(len(stages)), stages)
    return _save(fig, ax, run, "health.png",
                 "Health per stage (harness polls, pids checked; red = not healthy)", not polls)


def alert_timeline(run: RunEvidence) -> Path:
    clock = Clock(run)
    alerts = (run.manifest or {}).get("alerts") or []
    rules = sorted({a.get("rule") for a in alerts})
    fig, ax = plt.subplots(figsize=(9, 0.6 * max(len(rules), 2) + 1.5))
    end = clock.from_event((run.observations or {}).get("market_clock", {}).get(
        "end_event_ms") or 0)
    for a in alerts:
        fired, resolved = alert_times(a)
        if fired is None:
            continue
        x0 = clock.from_event(fired)
        x1 = clock.from_event(resolved) if resolved is not None else max(end, x0 + 1)
        ax.barh(rules.index(a.get("rule")), x1 - x0, left=x0, height=0.5,
                color="#ef6c00" if resolved is not None else "#b71c1c")
    ax.set_yticks(range(len(rules)), rules)
    return _save(fig, ax, run, "alerts.png", "Alerts: fired -> resolved (dark red: never "
                 "resolved)", not alerts)


def export_per_minute(run: RunEvidence) -> Path:
    clock = Clock(run)
    export = (run.manifest or {}).get("timeseries_export") or {}
    failures = Counter(int(clock.from_wall(ms)) for ms in export.get("failures") or [])
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(list(failures), list(failures.values()), width=0.8, align="edge", color="#c62828",
           label="failed exports")
    ax.set_ylabel("failed exports per minute")
    ax.text(0.01, 0.95, f"successful exports: {export.get('export_count')}, errors: "
            f"{export.get('error_count')}", transform=ax.transAxes, va="top", fontsize=8)
    return _save(fig, ax, run, "export.png", "Time-series export failures per minute",
                 not export)


DRAWERS = (rss_per_stage, signals_per_minute, health_per_stage, alert_timeline,
           export_per_minute)


def draw_all(run: RunEvidence) -> list[Path]:
    return [draw(run) for draw in DRAWERS]
