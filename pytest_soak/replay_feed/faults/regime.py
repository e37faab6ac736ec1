"""regime: the generated market switches regime (`regime`, optionally one `symbol`); the end
goes back to normal. A replayed recording cannot switch (HTTP 409)."""

from __future__ import annotations

from typing import Any

from pytest_soak.replay_feed.faults.base import FaultError


def handle(ctl: Any, action: str, params: dict) -> dict:
    source = ctl.engine.source
    if not source.can_switch_regime:
        raise FaultError("regime switching needs a generated feed (--generate SEED)", 409)
    regime = params.get("regime", "normal") if action == "start" else "normal"
    try:
        source.set_regime(regime, params.get("symbol"))
    except ValueError as exc:
        raise FaultError(str(exc)) from exc
    return {"regimes": source.regimes()}
