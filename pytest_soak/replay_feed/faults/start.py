"""start: begin the session now (a feed started with --start-on control waits for it)."""

from __future__ import annotations

from typing import Any


def handle(ctl: Any, action: str, params: dict) -> dict:
    return {"action": "inject", "started_now": ctl.engine.start()}
