"""One symbol's simulated market: an L2 book in integer ticks/lots, trades, and their events.

Why integers: prices and sizes are exact (tick and lot multiples), so the depth diffs, the
REST snapshot and the trades agree to the last digit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cached_property

BOOK_LEVELS = 25          # per side, kept at least this deep (the issue asks for >= 20)
WINDOW_MS = 100           # depth@100ms


@dataclass(frozen=True)
class SymbolSpec:
    symbol: str
    tick: float
    lot: float
    start_price: float

    @cached_property          # the formatting hot path (every event's prices) asks each time
    def price_decimals(self) -> int:
        return max(0, -int(math.floor(math.log10(self.tick) + 1e-9)))

    @cached_property
    def qty_decimals(self) -> int:
        return max(0, -int(math.floor(math.log10(self.lot) + 1e-9)))


@dataclass(frozen=True)
class Regime:
    """How a regime shapes the flow. `book_bias` and `trade_bias` are signed by the trend."""
    trade_rate_per_s: float
    quote_changes_per_window: float
    book_bias: float          # +: order flow follows the trend
    trade_bias: float         # +: trade flow follows the trend, -: opposes it (choppy)
    trade_lots_mean: float
    burst_prob_per_s: float
    move_prob_per_window: float   # chance the mid moves one tick in a window
    move_follows_trend: float     # P(move goes with the trend)


REGIMES: dict[str, Regime] = {
    "normal": Regime(6.0, 3.0, 0.25, 0.25, 40, 0.05, 0.30, 0.75),
    "choppy": Regime(8.0, 4.0, 0.30, -0.30, 40, 0.08, 0.40, 0.50),
    "quiet": Regime(2.5, 1.5, 0.0, 0.0, 10, 0.0, 0.08, 0.50),
}


@dataclass(frozen=True)
class Profile:
    """How busy a generated market is: the regimes' flows scaled, and what it yields.

    `rates_per_s` is the profile's claim, events per market second per symbol by stream kind
    in the normal regime, measured from its own output (tests/replay_feed/test_profiles.py
    holds it to them). `timed_quotes`: the book's quote changes happen at their own instants
    across the window, each change of the top of book its own bookTicker, as the exchange
    sends them; without it (the light profile, unchanged since it was first written) a
    window's quote changes are applied together and the top is sampled at trades and at the
    window's end.
    """
    name: str
    scale: dict[str, tuple[float, float]]    # regime -> (trade rate x, quote changes x)
    timed_quotes: bool
    rates_per_s: dict[str, float]
    headroom: float           # the per-stream rate limit over the busiest stream (generator.py)
    source: str

    @property
    def events_per_s(self) -> float:
        """Every stream of one symbol, events per market second (normal regime)."""
        return sum(self.rates_per_s.values())


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("light", {name: (1.0, 1.0) for name in REGIMES}, False,
            {"aggTrade": 7.5, "depth@100ms": 9.8, "bookTicker": 11.2}, 2.6,
            "the generator as first written: about a seventh of the real market's traffic"),
    # the real market: fixtures/market/binance_usdm_20240808_45s.jsonl.gz, BTCUSDT and
    # ETHUSDT averaged (docs/data-sources.md, "Generator profiles")
    # choppy is as busy as normal here: the capture is one market state, and what makes a
    # regime choppy is its trade flow opposing the trend (what the signals see), not more
    # traffic; light's choppy is 1.25x its normal, which at the real rates would put the
    # choppy minutes over a limit the gate's burst can still outrun on a 2-core machine
    # (docs/soak-design.md, "Realistic rates")
    Profile("real", {"normal": (2.35, 18.5), "choppy": (1.76, 13.9), "quiet": (2.35, 18.5)},
            True,
            {"aggTrade": 17.3, "depth@100ms": 10.0, "bookTicker": 175.7}, 1.2,
            "the real Binance USD-M capture's per-symbol rates (BTCUSDT+ETHUSDT mean)"),
)}
DEFAULT_PROFILE = "light"
REAL_PROFILE = "real"         # the profile measured from the real exchange


def profile_named(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown market profile {name!r}; known: {sorted(PROFILES)}")
    return PROFILES[name]


def default_specs(count: int) -> list[SymbolSpec]:
    specs = [SymbolSpec("BTCUSDT", 0.1, 0.001, 60000.0), SymbolSpec("ETHUSDT", 0.01, 0.001, 3000.0)]
    for index in range(2, count):
        specs.append(SymbolSpec(f"SYM{index}USDT", 0.01, 0.001, 100.0 + 10 * index))
    return specs[:count]


@dataclass
class MarketState:
    """The book and counters of one symbol; `step` simulates one 100 ms window."""
    spec: SymbolSpec
    rng: random.Random
    regime: str = "normal"
    profile: Profile = PROFILES[DEFAULT_PROFILE]
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    update_id: int = 1_000_000
    last_depth_u: int = 0
    agg_id: int = 5_000_000
    trade_id: int = 9_000_000
    trend: int = 1
    burst_until_ms: int = 0
    last_top: tuple = ()
    last_recv: dict = field(default_factory=dict)
    # the best bid and ask, kept by _touch: the real profile asks for them ~100 times a
    # window, and a max() over the book each time was a third of the generator's CPU
    tops: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        mid = round(self.spec.start_price / self.spec.tick)
        for level in range(BOOK_LEVELS):
            self.bids[mid - 1 - level] = self._fresh_lots()
            self.asks[mid + 1 + level] = self._fresh_lots()
        self.update_id += 1
        self.last_depth_u = self.update_id
        self.tops = {"b": max(self.bids), "a": min(self.asks)}

    # ---- formatting -----------------------------------------------------------------------
    def px(self, ticks: int) -> str:
        return f"{ticks * self.spec.tick:.{self.spec.price_decimals}f}"

    def qty(self, lots: int) -> str:
        return f"{lots * self.spec.lot:.{self.spec.qty_decimals}f}"

    def _fresh_lots(self) -> int:
        return max(1, int(self.rng.expovariate(1 / 150)))

    # ---- the window ---------------------------------------------------------------------
    def initial_depth(self, t_ms: int) -> dict:
        """A diff that carries every level: lets a client that starts here build the book."""
        changed = {("b", p): q for p, q in self.bids.items()}
        changed.update({("a", p): q for p, q in self.asks.items()})
        first = self.update_id
        return self._depth_event(t_ms, first, changed)

    def step(self, t0_ms: int) -> list[tuple[int, str, dict]]:
        """Simulate [t0, t0+100ms): returns (recv_ms, stream_kind, payload) in time order."""
        regime = REGIMES[self.regime]
        rng = self.rng
        if rng.random() < WINDOW_MS / 45_000:          # the trend turns every ~45 s
            self.trend = -self.trend
        burst_p = regime.burst_prob_per_s * WINDOW_MS / 1000
        if t0_ms >= self.burst_until_ms and rng.random() < burst_p:
            self.burst_until_ms = t0_ms + rng.randint(500, 2000)
        profile = self.profile
        trade_x, quote_x = profile.scale[self.regime]
        rate = regime.trade_rate_per_s * trade_x
        rate *= 5 if t0_ms < self.burst_until_ms else 1
        events: list[tuple[int, str, dict]] = []
        changed: dict[tuple[str, int], int] = {}
        first_id = self.update_id + 1
        if rng.random() < regime.move_prob_per_window:
            self._move_mid(regime, changed)
        quotes = _poisson(rng, regime.quote_changes_per_window * quote_x)
        if profile.timed_quotes:
            self._timed_flow(regime, t0_ms, quotes, rate, changed, events)
        else:
            for _ in range(quotes):
                self._quote_change(regime, changed)
            self._timed_flow(regime, t0_ms, 0, rate, changed, events)
        self._refill(changed)
        end = t0_ms + WINDOW_MS
        if changed:
            self.update_id = max(self.update_id, first_id)
            depth = self._depth_event(end, first_id, changed)
            events.append((end + rng.randint(2, 8), "depth@100ms", depth))
        ticker = self._book_ticker_if_changed(end - 1)
        if ticker:
            events.append((end + rng.randint(1, 4), "bookTicker", ticker))
        return self._monotonic_per_stream(events)

    def _timed_flow(self, regime: Regime, t0_ms: int, quotes: int, rate: float,
                    changed: dict, events: list) -> None:
        """The window's trades and `quotes` quote changes at their instants, in time order;
        each that changes the top of book is followed by a bookTicker."""
        rng = self.rng
        trades = _poisson(rng, rate * WINDOW_MS / 1000)
        flow = sorted([(rng.randrange(WINDOW_MS), True) for _ in range(trades)] +
                      [(rng.randrange(WINDOW_MS), False) for _ in range(quotes)])
        for offset, is_trade in flow:
            t = t0_ms + offset
            if is_trade:      # the receive jitter is drawn before the trade (seeds' order)
                recv = t + rng.randint(1, 4)
                events.append((recv, "aggTrade", self._trade(regime, t, changed)))
            else:
                self._quote_change(regime, changed)
            ticker = self._book_ticker_if_changed(t)
            if ticker:
                events.append((t + rng.randint(1, 4), "bookTicker", ticker))

    def _monotonic_per_stream(self, events: list) -> list:
        """Network jitter must not reorder one stream (ids would go backwards): clamp, in the
        order the events happened, then sort the streams together by receive time."""
        out = []
        for recv, kind, payload in events:
            recv = max(recv, self.last_recv.get(kind, 0))
            self.last_recv[kind] = recv
            out.append((recv, kind, payload))
        out.sort(key=lambda item: item[0])
        return out

    def _touch(self, changed: dict, side: str, price: int, lots: int) -> None:
        book = self.bids if side == "b" else self.asks
        top = self.tops[side]
        if lots > 0:
            book[price] = lots
            if (price > top) if side == "b" else (price < top):
                self.tops[side] = price
        else:
            book.pop(price, None)
            if price == top:
                self.tops[side] = max(book) if side == "b" else min(book)
        changed[(side, price)] = max(lots, 0)
        self.update_id += 1

    def _quote_change(self, regime: Regime, changed: dict) -> None:
        """Add to or cancel from a level; the bias tilts adds to the trend side (order flow)."""
        rng = self.rng
        bias = regime.book_bias * self.trend
        side = "b" if rng.random() < 0.5 + bias / 2 else "a"
        add = rng.random() < 0.6
        book = self.bids if side == "b" else self.asks
        best = self.best(side)
        depth = min(int(rng.expovariate(1 / 3)), BOOK_LEVELS - 1)
        price = best - depth if side == "b" else best + depth
        if add and rng.random() < 0.15:                 # improve the quote inside the spread
            inside = best + 1 if side == "b" else best - 1
            if self.best("b") < inside < self.best("a"):
                price = inside
        lots = book.get(price, 0)
        lots = lots + self._fresh_lots() if add else lots - self._fresh_lots() // 2
        if not add and len(book) <= BOOK_LEVELS:
            lots = max(lots, 1)
        self._touch(changed, side, price, lots)

    def _move_mid(self, regime: Regime, changed: dict) -> None:
        """The mid moves a tick: the far side's best level goes, the near side steps up to it."""
        up = (self.rng.random() < regime.move_follows_trend) == (self.trend > 0)
        vanish, grow = ("a", "b") if up else ("b", "a")
        gone = self.best(vanish)
        self._touch(changed, vanish, gone, 0)
        step = 1 if up else -1
        target = self.best(grow) + step
        if self.best("b") < target < self.best("a") or (target == gone):
            self._touch(changed, grow, target, self._fresh_lots())

    def _trade(self, regime: Regime, t_ms: int, changed: dict) -> dict:
        """An aggressive order that consumes the opposite side's best levels."""
        rng = self.rng
        buy = rng.random() < 0.5 + regime.trade_bias * self.trend / 2
        remaining = max(1, int(rng.expovariate(1 / regime.trade_lots_mean)))
        book, side = (self.asks, "a") if buy else (self.bids, "b")
        price = self.best(side)
        total = 0
        fills = 0
        while remaining > 0 and fills < 3:
            level_price = self.best(side)
            take = min(remaining, book[level_price])
            self._touch(changed, side, level_price, book[level_price] - take)
            remaining -= take
            total += take
            fills += 1
            price = level_price
        self.agg_id += 1
        first_trade = self.trade_id + 1
        self.trade_id += fills
        return {"e": "aggTrade", "E": t_ms + rng.randint(0, 2), "a": self.agg_id,
                "s": self.spec.symbol, "p": self.px(price), "q": self.qty(total),
                "f": first_trade, "l": self.trade_id, "T": t_ms, "m": not buy}

    def _refill(self, changed: dict) -> None:
        """Quotes refill: keep each side BOOK_LEVELS deep, trimming far levels."""
        for side, book, step in (("b", self.bids, -1), ("a", self.asks, 1)):
            while len(book) < BOOK_LEVELS:
                worst = min(book) if side == "b" else max(book)
                self._touch(changed, side, worst + step, self._fresh_lots())
            while len(book) > BOOK_LEVELS + 10:
                self._touch(changed, side, min(book) if side == "b" else max(book), 0)

    def best(self, side: str) -> int:
        return self.tops[side]

    def _book_ticker_if_changed(self, t_ms: int) -> dict | None:
        bid, ask = self.tops["b"], self.tops["a"]
        top = (bid, self.bids[bid], ask, self.asks[ask])
        if top == self.last_top:
            return None
        self.last_top = top
        return {"e": "bookTicker", "u": self.update_id, "s": self.spec.symbol,
                "b": self.px(bid), "B": self.qty(top[1]), "a": self.px(ask), "A": self.qty(top[3]),
                "T": t_ms, "E": t_ms + self.rng.randint(0, 2)}

    def _depth_event(self, t_ms: int, first_id: int, changed: dict) -> dict:
        levels = sorted(changed.items())
        bids = [[self.px(p), self.qty(q)] for (s, p), q in reversed(levels) if s == "b"]
        asks = [[self.px(p), self.qty(q)] for (s, p), q in levels if s == "a"]
        event = {"e": "depthUpdate", "E": t_ms + self.rng.randint(0, 3), "T": t_ms,
                 "s": self.spec.symbol, "U": first_id, "u": self.update_id,
                 "pu": self.last_depth_u, "b": bids, "a": asks}
        self.last_depth_u = self.update_id
        return event


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
