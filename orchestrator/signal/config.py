"""The `signal` configuration section, with its defaults (schemas/config/signal.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DEFAULTS: dict[str, Any] = {
    "feature_window_ms": 2_000,         # OFI and CVD are summed over this much event time
    "z_sample_ms": 1_000,               # one z-score history sample per this much event time
    "z_window_samples": 300,            # z-score history length (300 x 1 s = 5 minutes)
    "warmup_samples": 30,               # fewer history samples than this: gating "warmup"
    "consistency_window_ms": 60_000,    # consistency = mean agreement over this window
    "flow_window_ms": 10_000,           # passive/trade flow and activity windows
    "depth_levels": 10,                 # top levels per side counted in the depth flow
    "ofi_weight": 0.5,                  # score = w * ofi_z + (1 - w) * cvd_z
    "confirm_z": 0.3,                   # |score| >= confirm_z (and gating ok): confirm
    "strong_quantile": 0.75,            # strong: confirm and |score| >= this rolling quantile
    "strong_window_ms": 60_000,         # ... of |score| over this much event time
    "z_clip": 8.0,                      # z-scores are clipped to [-z_clip, z_clip]
    "min_consistency": 0.35,            # below: gating "low_consistency"
    "stale_ms": 5_000,                  # book older than this (event time) at a trade: stale_data
    "max_spread_bps": 25.0,             # wider best bid/ask spread: gating "wide_spread"
    "activity_halflife_s": 300.0,       # half-life of the traded-volume baseline
    "quiet_activity_ratio": 0.35,       # volume rate / baseline below this: regime "quiet"
    "active_activity_ratio": 2.5,       # above this: regime "active"
    "choppy_consistency": 0.15,         # consistency below this: regime "choppy"
    "batch_max_records": 2_000,         # market records read per step
    "checkpoint_interval_ms": 1000,     # wall time between state checkpoints + offset commits
}


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

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> SignalConfig:
        """The section over the defaults; unknown keys were already refused by the schema."""
        merged = {**DEFAULTS, **(section or {})}
        return cls(**{f.name: merged[f.name] for f in fields(cls)})
