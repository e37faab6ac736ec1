"""Executor precheck: which confirmed signals may become orders.

Refusal reasons (first match wins): `not_confirmed` (not counted as an order at all),
`warmup` (the signal stage is warming up), `guard:<reason>` (the signal's gating reason is not
`ok`), `no_side` (flat score), `throttled` (more than `max_orders_per_s` orders of this symbol in
the last second of event time), `unknown_symbol` (no tick/lot filters configured).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pytest_soak_evidence.orders import eligible

OK_GATING = ("ok", None, "")
SIDES = {"buy": "buy", "sell": "sell", "long": "buy", "short": "sell", "BUY": "buy",
         "SELL": "sell"}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None


def gating_reason(signal: dict) -> str | None:
    """The signal's gating reason, whichever name the signal stage used for it."""
    for key in ("gating", "reason", "guard_reason", "gating_reason"):
        if signal.get(key) is not None:
            return signal[key]
    return None


def is_warmup(signal: dict) -> bool:
    return bool(signal.get("warmup")) or gating_reason(signal) == "warmup" \
        or signal.get("regime") == "warmup"


class Throttle:
    """At most `max_per_s` orders per symbol in any 1000 ms window of event time."""

    def __init__(self, max_per_s: float) -> None:
        self.max_per_s = max_per_s
        self._sent: dict[str, deque[int]] = {}

    def allow(self, symbol: str, ts_ms: int) -> bool:
        if self.max_per_s <= 0:
            return True
        window = self._sent.setdefault(symbol, deque())
        while window and window[0] <= ts_ms - 1000:
            window.popleft()
        if len(window) >= self.max_per_s:
            return False
        window.append(ts_ms)
        return True


class Precheck:
    def __init__(self, throttle: Throttle, symbols: set[str], only_strong: bool) -> None:
        self.throttle = throttle
        self.symbols = symbols
        self.only_strong = only_strong

    def eligible(self, signal: dict) -> bool:
        """Only confirmed signals (strong ones if configured) are order candidates
        (pytest_soak_evidence.orders: the harness applies the same rule)."""
        return eligible(signal, self.only_strong)

    def check(self, signal: dict) -> Decision:
        if is_warmup(signal):
            return Decision(False, "warmup")
        reason = gating_reason(signal)
        if reason not in OK_GATING:
            return Decision(False, f"guard:{reason}")
        if signal.get("side") not in SIDES:
            return Decision(False, "no_side")
        if signal.get("symbol") not in self.symbols:
            return Decision(False, "unknown_symbol")
        if not self.throttle.allow(signal["symbol"], int(signal["ts_ms"])):
            return Decision(False, "throttled")
        return Decision(True)
