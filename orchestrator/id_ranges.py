"""Per symbol, the range and count of aggTrade ids a stage has handled.

harvest publishes the ids it accepted into the handoff, signal the ids it consumed, both as
`aggtrade_ids: {SYMBOL: {"first", "last", "count"}}` in their manifest sections; the harness
compares the two to prove no event was lost (docs/architecture.md, element reconciliation).
"""

from __future__ import annotations


class AggTradeIds:
    """First, last and count of the aggTrade ids seen, per symbol (`ids` is the JSON form)."""

    def __init__(self, ids: dict[str, dict[str, int]] | None = None) -> None:
        self.ids: dict[str, dict[str, int]] = ids if ids is not None else {}

    def add(self, symbol: str, agg_id: int) -> None:
        entry = self.ids.get(symbol)
        if entry is None:
            self.ids[symbol] = {"first": agg_id, "last": agg_id, "count": 1}
        else:
            entry["last"] = agg_id
            entry["count"] += 1

    def last(self, symbol: str) -> int | None:
        entry = self.ids.get(symbol)
        return entry["last"] if entry else None
