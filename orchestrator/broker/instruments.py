"""Per-symbol trading filters (tick size, lot size) and alignment to them."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Relative tolerance so 0.30000000000000004 / 0.1 counts as 3 ticks, not 2.
_EPS = 1e-9


@dataclass(frozen=True)
class Instrument:
    symbol: str
    tick_size: float
    lot_size: float

    def price_decimals(self) -> int:
        return _decimals(self.tick_size)

    def align_price(self, price: float, mode: str = "nearest") -> float:
        """Price on the tick grid: mode nearest | down | up."""
        ticks = price / self.tick_size
        if mode == "down":
            steps = math.floor(ticks + _EPS)
        elif mode == "up":
            steps = math.ceil(ticks - _EPS)
        else:
            steps = round(ticks)
        return round(steps * self.tick_size, self.price_decimals())

    def align_qty(self, qty: float) -> float:
        """Quantity rounded down to the lot size (never more than intended)."""
        steps = math.floor(qty / self.lot_size + _EPS)
        return round(steps * self.lot_size, _decimals(self.lot_size))


def _decimals(step: float) -> int:
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def instruments_from_config(section: dict) -> dict[str, Instrument]:
    return {symbol: Instrument(symbol, float(f["tick_size"]), float(f["lot_size"]))
            for symbol, f in (section or {}).items()}
