"""The `broker` and `outbox` config sections (schemas/config/*.schema.json validate the file;
keys a file leaves out take config/defaults.yaml's values)."""

from __future__ import annotations

from typing import Any

from orchestrator.config import section


def broker_section(config: dict) -> dict[str, Any]:
    return section(config, "broker")


def outbox_section(config: dict) -> dict[str, Any]:
    return section(config, "outbox")
