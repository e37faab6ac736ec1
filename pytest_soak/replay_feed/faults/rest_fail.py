"""rest_fail: the next `count` depth snapshot requests fail with HTTP 503."""

from __future__ import annotations

from typing import Any


def handle(ctl: Any, action: str, params: dict) -> dict:
    ctl.rest_failures_left = int(params.get("count", 1)) if action == "start" else 0
    return {}
