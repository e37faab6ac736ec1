"""The broker's order identity and eligibility rule, shared by the broker and the harness.

Which signal may become an order (`eligible`) and the `client_order_id` it gets are the
pipeline's declared behaviour: the broker (orchestrator/broker) applies them, and the harness
(D12) applies the same rule to the sinks' signals under the run's declared `broker` config to
know which decisions ready/ must hold. One owner, so the two can never drift apart.
"""

from __future__ import annotations

import hashlib

# the events that end an order's life in the outbox: exactly one per eligible signal
TERMINAL_EVENTS = ("fill", "reject")


def eligible(signal: dict, only_strong: bool) -> bool:
    """Only confirmed signals (strong ones if `broker.only_strong`) are order candidates."""
    if signal.get("confirm") is not True:
        return False
    return signal.get("strong") is True or not only_strong


def client_order_id(signal: dict) -> str:
    """Deterministic per signal (Binance limit: 36 chars of [A-Za-z0-9_-])."""
    identity = f"{signal['symbol']}|{signal['row_id']}|{signal['ts_ms']}"
    return "soak-" + hashlib.sha256(identity.encode()).hexdigest()[:27]
