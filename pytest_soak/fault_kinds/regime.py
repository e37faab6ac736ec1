"""regime: the generated market switches regime for the window (params.regime).

Proof: the feed's record of the switch, at an exact event, shows the regime. What it expects
depends on the regime: a choppy
market gates most signals low_consistency, a quiet one collapses the strong ratio; each may
also move the other ratio rule (a regime changes the whole signal mix), which it tolerates.
Only the generator has regimes: on a recording (--soak-recording) the fault is not applied and
never confirmed, so the item expecting its alert is `unknown` with ON_RECORDING as its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pytest_soak.fault_kinds.base import Expects, FeedFault, Param, Tolerates

# regime -> the alert rule it provokes
RULE_OF_REGIME = {"choppy": "low_consistency", "quiet": "strong_ratio_collapse"}
ON_RECORDING = "regime needs the generator: the market is a recording"


@dataclass(frozen=True)
class Regime(FeedFault):
    def default_expects(self, target: str | None, params: dict[str, Any]) -> Expects:
        rule = RULE_OF_REGIME.get(params.get("regime", ""))
        return replace(self.expects, alerts=(rule,) if rule else ())

    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        rule = RULE_OF_REGIME.get(params.get("regime", ""))
        others = tuple(r for r in RULE_OF_REGIME.values() if r != rule)
        return replace(self.tolerates, alerts=others)

    def plan_entry(self, f: Any, ctx: Any, session0_ms: float) -> dict:
        if getattr(ctx.feed, "recording", None) is not None:
            raise RuntimeError(ON_RECORDING)
        return super().plan_entry(f, ctx, session0_ms)

    def applied_proof(self, f: Any, start: dict, in_window: dict) -> dict | None:
        regimes = start.get("regimes") or {}
        return {"regimes": regimes} if f.params.get("regime") in regimes.values() else None


KIND = Regime(
    name="regime", windowed=True, clock="market", applied_by="feed", control="regime",
    what="feed `POST /control/plan` `regime {\"regime\"}` between two event times",
    proof="the feed's plan records the regime switched at an exact event",
    params={"regime": Param((str,), required=True, help="a regime of the generator"),
            "symbol": Param((str,), help="one symbol only")},
    expects_doc="choppy: low_consistency; quiet: strong_ratio_collapse",
    tolerates_doc="the other of those two rules",
)
