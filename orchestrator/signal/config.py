"""The `signal` configuration section as typed fields (schemas/config/signal.schema.json
validates it; what each setting means, and its default, is config/defaults.yaml's)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from orchestrator.config import defaults


@dataclass(frozen=True)
class SignalConfig:
    feature_window_ms: int
    z_sample_ms: int
    z_window_samples: int
    warmup_samples: int
    consistency_window_ms: int
    flow_window_ms: int
    depth_levels: int
    ofi_weight: float
    confirm_z: float
    strong_quantile: float
    strong_window_ms: int
    z_clip: float
    min_consistency: float
    stale_ms: int
    max_spread_bps: float
    activity_halflife_s: float
    quiet_activity_ratio: float
    active_activity_ratio: float
    choppy_consistency: float
    batch_max_records: int
    checkpoint_interval_ms: int
    reorder_lateness_ms: float
    reorder_idle_release_ms: float | None
    reorder_max_events: int
    depth_settle_ms: int
    trade_gap_settle_ms: int

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> SignalConfig:
        """The section over config/defaults.yaml's; unknown keys were refused by the schema."""
        merged = {**defaults()["signal"], **(section or {})}
        return cls(**{f.name: merged[f.name] for f in fields(cls)})
