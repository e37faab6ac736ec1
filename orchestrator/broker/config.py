"""The `broker` and `outbox` config sections with their defaults (schemas/config/*.schema.json
validate the file; keys a file leaves out take these values)."""

from __future__ import annotations

import copy
from typing import Any

BROKER_DEFAULTS: dict[str, Any] = {
    "executor": "paper",
    "instruments": {
        "BTCUSDT": {"tick_size": 0.1, "lot_size": 0.001},
        "ETHUSDT": {"tick_size": 0.01, "lot_size": 0.001},
    },
    "order_notional_usd": 1000.0,
    "order_type": "market",
    "fees_bps": {"maker": 2.0, "taker": 4.0},
    "latency": {"base_ms": 20.0, "jitter_ms": 30.0},
    "throttle_orders_per_s": 5,
    "only_strong": False,
    "retry": {"attempts": 5, "initial_delay_s": 0.05, "factor": 2.0, "max_delay_s": 1.0},
    "validate_every_n": 20,
    "batch_max_records": 500,
    "commit_interval_ms": 500,
}

OUTBOX_DEFAULTS: dict[str, Any] = {
    "fsync_every": 100,
    "max_file_mb": 10,
    "prefix": "exec",
    "rename_attempts": 5,
    "rename_delay_s": 0.05,
}


def with_defaults(section: dict | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """`defaults` overlaid with `section`, nested dicts merged key by key (instruments replace)."""
    out = copy.deepcopy(defaults)
    for key, value in (section or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "instruments":
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def broker_section(config: dict) -> dict[str, Any]:
    return with_defaults(config.get("broker"), BROKER_DEFAULTS)


def outbox_section(config: dict) -> dict[str, Any]:
    return with_defaults(config.get("outbox"), OUTBOX_DEFAULTS)
