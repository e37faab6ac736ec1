"""The DoD thresholds (seed defaults, SPEC §3) that every check compares against.

A team tightens them through the plugin's options / ini keys; `Thresholds.from_settings`
takes any object (the session's settings) or mapping carrying attributes of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pytest_soak.fault_kinds.vocabulary import alert_rules


@dataclass(frozen=True)
class Thresholds:
    # D1: the market time covered may fall short of the request by at most this much
    duration_tolerance_s: float = 30.0
    # D1: market seconds between the last all-healthy poll and the stop signal (3 polls)
    stop_gap_s: float = 30.0
    # D2: share of the harness's polls (outside fault windows) a stage must be healthy in
    health_min_pct: float = 98.0
    # market seconds after a fault window during which what it tolerates stays excused, for a
    # fault whose tolerates.for_s is null (the kinds' default; pytest_soak/fault_kinds/)
    settle_s: float = 90.0
    # D3: market seconds of the report's lateness beyond its declared lateness_s and status
    # poll (checks/alert_windows.py): the signals' handoff lag and the signal stage's 60 s
    # trailing windows, which carry a regime's effect into the minute after it ends
    alert_lag_s: float = 60.0
    # the report stage's rule names (the schema's enum, schemas/manifest/alerts.schema.json)
    alert_rules: tuple[str, ...] = field(default_factory=alert_rules)
    # D4: exports per closed minute; relative tolerance of store read-back vs sinks
    min_exports_per_minute: float = 1.0
    readback_tolerance: float = 1e-6
    pushgateway_fresh_s: float = 120.0
    # D5
    parity_max_pct: float = 0.5
    # D7
    max_reconnects: int = 3
    # D7: the queue's recorded depth outside windows tolerating queue pressure, % of queue_max
    queue_depth_max_pct: float = 25.0
    # D7 / "no event lost": wall seconds before a connection's close whose frames may be in
    # flight (socket buffers; a killed harvest's own queue), when a fault or the stop closed it
    in_flight_s: float = 2.0
    # D8
    max_rss_mb: float = 600.0
    max_open_files: int = 256
    rss_agreement_pct: float = 25.0
    rss_agreement_floor_mb: float = 15.0
    # above the harness's maximum when that came after the stop signal (see checks/resources.py)
    rss_agreement_post_stop_pct: float = 50.0
    leak_warmup_s: float = 300.0          # market seconds skipped before fitting the slope
    leak_max_mb_per_h: float = 100.0      # per hour of MARKET time (see checks/resources.py)
    leak_end_tolerance_mb: float = 50.0
    leak_min_samples: int = 10
    leak_min_span_s: float = 300.0        # market seconds of steady state a slope needs
    # D9
    restart_max_s: float = 12.0
    # a restarted stage's new pid must live this many market seconds (or until the harness's
    # next kill of it, or the stop): a stage that dies again at once was not restarted
    new_pid_alive_s: float = 60.0
    # a recorded backoff delay may be off the declared one by max(rel x delay, floor); the
    # floor is the pipeline's declared supervisor tick, this one only if it declares none
    backoff_rel_tolerance: float = 0.1
    backoff_floor_s: float = 0.1
    # D12: an eligible signal without a decision is pending (not a hole) only when its event
    # time is within this many wall seconds of processing (x speed) before the stop's event
    # time: the broker stops before signal does, and signal's lag behind the feed is wall time
    outbox_pending_wall_s: float = 10.0
    # D10
    shutdown_order: tuple[str, ...] = ("report", "broker", "signal", "harvest")
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any = None) -> Thresholds:
        """Take every field found on `settings` (attribute or key, optionally `dod_`-prefixed)."""
        if settings is None:
            return cls()
        found: dict[str, Any] = {}
        source = getattr(settings, "thresholds", None) or settings
        for f in fields(cls):
            if f.name == "extra":
                continue
            for name in (f.name, f"dod_{f.name}"):
                value = (source.get(name) if isinstance(source, dict)
                         else getattr(source, name, None))
                if value is not None:
                    found[f.name] = tuple(value) if isinstance(value, list) else value
                    break
        return cls(**found)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
