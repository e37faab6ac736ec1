"""Consistency, regime and the gating decision (one reason per signal record).

agreement(a, b) = 2 * min(|a|, |b|) / (|a| + |b|)   when a and b have the same sign, else 0
consistency     = mean agreement over the last consistency_window_ms of evaluations, in [0, 1]

Gating reasons, first match wins (the order is the precedence):
    warmup          z history shorter than warmup_samples, or no quote seen yet
    stale_data      the last best quote is older than stale_ms (event time) at this trade
    invalid_book    best ask <= best bid, or a non-positive price
    wide_spread     (ask - bid) / mid * 1e4 > max_spread_bps
    low_activity    regime quiet: traded volume rate < quiet_activity_ratio x its baseline
                    (flows are too thin to agree or disagree meaningfully)
    low_consistency consistency < min_consistency
    ok              none of the above
confirm = gating == ok and |score| >= confirm_z
strong  = confirm and |score| >= Q(strong_quantile) of |score| over the
          last strong_window_ms (this record included): strong is the top of the recent score
          distribution, so strong_ratio stays steady minute to minute in a steady market
"""

from __future__ import annotations

from orchestrator.signal.config import SignalConfig

GATING_REASONS = ("warmup", "stale_data", "invalid_book", "wide_spread", "low_activity",
                  "low_consistency", "ok")
REGIMES = ("warmup", "quiet", "normal", "active", "choppy")


def agreement(a: float, b: float) -> float:
    """How much two z-scores agree: 1 equal, 0 opposite signs or both zero."""
    if a * b <= 0.0:
        return 0.0
    a, b = abs(a), abs(b)
    return 2.0 * min(a, b) / (a + b)


def spread_bps(bid_px: float, ask_px: float) -> float:
    mid = (bid_px + ask_px) / 2.0
    return (ask_px - bid_px) / mid * 1e4 if mid > 0 else float("inf")


def classify_regime(warm: bool, activity_ratio: float, consistency: float,
                    cfg: SignalConfig) -> str:
    if not warm:
        return "warmup"
    if activity_ratio < cfg.quiet_activity_ratio:
        return "quiet"
    if consistency < cfg.choppy_consistency:
        return "choppy"
    if activity_ratio > cfg.active_activity_ratio:
        return "active"
    return "normal"


def gate(*, warm: bool, quote_age_ms: int | None, bid_px: float, ask_px: float,
         regime: str, consistency: float, cfg: SignalConfig) -> str:
    """The one gating reason of a record (see the module docstring for the order)."""
    if not warm or quote_age_ms is None:
        return "warmup"
    if quote_age_ms > cfg.stale_ms:
        return "stale_data"
    if bid_px <= 0 or ask_px <= bid_px:
        return "invalid_book"
    if spread_bps(bid_px, ask_px) > cfg.max_spread_bps:
        return "wide_spread"
    if regime == "quiet":
        return "low_activity"
    if consistency < cfg.min_consistency:
        return "low_consistency"
    return "ok"


def decide(gating: str, score: float, regime: str, strong_edge: float | None,
           cfg: SignalConfig) -> tuple[bool, bool]:
    """(confirm, strong) for a record; strong_edge: the rolling quantile of |score|."""
    confirm = gating == "ok" and abs(score) >= cfg.confirm_z
    strong = (confirm and strong_edge is not None
              and abs(score) >= strong_edge)
    return confirm, strong
