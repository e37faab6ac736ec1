"""Multi-level order flow from diff-depth updates (the passive side of the book).

For every changed level among the top `levels` of its side (rank taken before the update),
the size change counts toward the flow, bids positive and asks negative:

    depth_flow = sum over changed top-K bid levels of (q_new - q_old)
               - sum over changed top-K ask levels of (q_new - q_old)

A level seen for the first time has no known old size and is not counted; levels beyond 2K are
trimmed (a level coming back is "first seen" again), which keeps the state small and ignores
the far refills. Trades also shrink the top levels, so `depth_flow - CVD` is the passive
(limit add minus cancel) flow that consistency compares with the trade flow.
"""

from __future__ import annotations


class DepthFlow:
    __slots__ = ("levels", "bids", "asks")

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def apply(self, bids: list, asks: list) -> float:
        """Apply one depthUpdate's `b` and `a` lists; the flow it carries."""
        return self._side(self.bids, bids, +1.0) + self._side(self.asks, asks, -1.0)

    def _best(self, book: dict[float, float], count: int, sign: float) -> list[float]:
        """The `count` best prices: highest bids (sign +1), lowest asks (sign -1)."""
        return sorted(book, reverse=sign > 0)[:count]

    def _side(self, book: dict[float, float], updates: list, sign: float) -> float:
        if not updates:
            return 0.0
        top = self._best(book, self.levels, sign)
        edge = top[-1] if len(top) == self.levels else None
        flow = 0.0
        for price_text, qty_text in updates:
            price, qty = float(price_text), float(qty_text)
            old = book.get(price)
            if old is not None and (edge is None or sign * (price - edge) >= 0):
                flow += sign * (qty - old)
            if qty == 0.0:
                book.pop(price, None)
            else:
                book[price] = qty
        if len(book) > 4 * self.levels:
            keep = self._best(book, 2 * self.levels, sign)
            book_keep = {p: book[p] for p in keep}
            book.clear()
            book.update(book_keep)
        return flow

    def to_state(self) -> dict:
        return {"bids": list(self.bids.items()), "asks": list(self.asks.items())}

    def load_state(self, state: dict) -> None:
        self.bids = {float(p): float(q) for p, q in state["bids"]}
        self.asks = {float(p): float(q) for p, q in state["asks"]}
