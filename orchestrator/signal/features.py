"""Order-flow features per symbol, in event time.

OFI (Cont, Kukanov & Stoikov 2014), from consecutive best bid/ask quotes n-1 -> n:

    e_n = 1[Pb_n >= Pb_{n-1}] * qb_n - 1[Pb_n <= Pb_{n-1}] * qb_{n-1}
        - 1[Pa_n <= Pa_{n-1}] * qa_n + 1[Pa_n >= Pa_{n-1}] * qa_{n-1}

    OFI(t) = sum of e_n over quotes with event time in (t - W, t]

CVD over the same window: sum of signed aggTrade quantities, +q when the taker bought
(`m` false) and -q when the taker sold (`m` true: the buyer was the maker).

Passive flow (depth.py): multi-level order flow of the top levels from diff-depth updates,
net of the trades' own consumption, over flow_window_ms; consistency compares it with the trade
flow (CVD) over the same window.

All of them are z-scored against a rolling history (windows.RollingZ). Activity (traded quantity per
second over W) is compared with a slow exponential baseline to classify the regime.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.signal.config import SignalConfig
from orchestrator.signal.depth import DepthFlow
from orchestrator.signal.windows import RollingQuantile, RollingZ, WindowSum


@dataclass
class Quote:
    bid_px: float
    bid_qty: float
    ask_px: float
    ask_qty: float
    ts_ms: int


def ofi_contribution(prev: Quote, cur: Quote) -> float:
    """e_n of Cont-Kukanov-Stoikov for one best-quote change (see the module docstring)."""
    e = 0.0
    if cur.bid_px >= prev.bid_px:
        e += cur.bid_qty
    if cur.bid_px <= prev.bid_px:
        e -= prev.bid_qty
    if cur.ask_px <= prev.ask_px:
        e -= cur.ask_qty
    if cur.ask_px >= prev.ask_px:
        e += prev.ask_qty
    return e


def signed_trade_qty(qty: float, buyer_is_maker: bool) -> float:
    """+qty for a taker buy, -qty for a taker sell (`m` true: the buyer was the maker)."""
    return -qty if buyer_is_maker else qty


STATE_PARTS = ("ofi", "cvd", "volume", "agreement", "score_quantile", "ofi_z", "cvd_z",
               "passive", "trade_flow", "passive_z", "trade_flow_z", "depth")


class SymbolFeatures:
    """Every piece of per-symbol state the signal computation needs; JSON-serialisable."""

    def __init__(self, cfg: SignalConfig) -> None:
        self.cfg = cfg
        self.quote: Quote | None = None
        self.ofi = WindowSum(cfg.feature_window_ms)
        self.cvd = WindowSum(cfg.feature_window_ms)
        self.volume = WindowSum(cfg.flow_window_ms)
        self.score_quantile = RollingQuantile(cfg.strong_window_ms, cfg.strong_quantile)
        self.agreement = WindowSum(cfg.consistency_window_ms)
        self.depth = DepthFlow(cfg.depth_levels)
        self.passive = WindowSum(cfg.flow_window_ms)        # depth flow, for consistency
        self.trade_flow = WindowSum(cfg.flow_window_ms)     # CVD over the same window
        self.ofi_z = RollingZ(cfg.z_sample_ms, cfg.z_window_samples)
        self.cvd_z = RollingZ(cfg.z_sample_ms, cfg.z_window_samples)
        self.passive_z = RollingZ(cfg.z_sample_ms, cfg.z_window_samples)
        self.trade_flow_z = RollingZ(cfg.z_sample_ms, cfg.z_window_samples)
        self.activity_baseline: float | None = None
        self.baseline_bucket: int | None = None
        self.warmup_activity: list[float] = []
        self.last_agg_id: int | None = None
        self.last_book_u: int | None = None
        self.last_depth_u: int | None = None
        self.last_depth_ms: int | None = None
        self.depth_from_ms: int | None = None      # depth flow counts from here (settle rule)
        self.last_trade_ms: int | None = None
        self.gap_until_ms: int | None = None       # after a trade gap: skipped up to here

    # ---- updates ------------------------------------------------------------------------
    def on_quote(self, quote: Quote) -> None:
        if self.quote is not None:
            self.ofi.add(quote.ts_ms, ofi_contribution(self.quote, quote))
            self.ofi.evict(quote.ts_ms)
        self.quote = quote

    def note_event(self, ts_ms: int) -> None:
        """A trade or quote: the symbol's first one starts the depth settle period."""
        if self.depth_from_ms is None:
            self.depth_from_ms = ts_ms + self.cfg.depth_settle_ms

    def on_depth(self, ts_ms: int, update_id: int, chained: bool, bids: list,
                 asks: list) -> str:
        """Apply one diff under the settle rule (docs/signals.md "Deterministic book start"):
        'applied', 'settling' (before the boundary: not counted), 'break' (the chain broke:
        the book is dropped and the boundary set) or 'slow_resync' (the first diff after the
        break is already past the boundary: the boundary moves to the next multiple of
        depth_settle_ms of event time)."""
        status = "applied"
        settle = self.cfg.depth_settle_ms
        if not chained and self.last_depth_ms is not None:
            self.depth = DepthFlow(self.cfg.depth_levels)    # its levels are stale now
            self.depth_from_ms = max(self.depth_from_ms or 0, self.last_depth_ms + settle)
            status = "break"
            if ts_ms >= self.depth_from_ms:
                # an outage (or a resync slower than the settle time): restart on the event-time
                # grid of settle_ms after this diff, the same point for any resync moment in
                # the same grid cell
                status = "slow_resync"
                self.depth_from_ms = (ts_ms // settle + 1) * settle if settle else ts_ms
        self.last_depth_u, self.last_depth_ms = update_id, ts_ms
        if self.depth_from_ms is None or ts_ms < self.depth_from_ms:
            return "settling" if status == "applied" else status
        self.passive.add(ts_ms, self.depth.apply(bids, asks))
        self.passive.evict(ts_ms)       # the other windows are evicted at each trade
        return status

    def in_gap(self, ts_ms: int) -> bool:
        """Is this record inside the skip period of a trade gap (docs/signals.md)?"""
        return self.gap_until_ms is not None and ts_ms < self.gap_until_ms

    def trade_gap(self, ts_ms: int) -> bool:
        """Trades are missing before this one (a reconnect, load shedding): skip every record
        of the symbol until `trade_gap_settle_ms` after the last trade before the gap, and
        forget what was applied after that trade, so the state from there on depends only on
        the market before and after the gap, not on when the gap ended. False when the gap
        outlasted the settle period: the skip then ends on the settle grid after this trade
        (deterministic unless two runs' first trades straddle a grid line)."""
        settle = self.cfg.trade_gap_settle_ms
        start = self.last_trade_ms if self.last_trade_ms is not None else ts_ms
        until = start + settle
        in_time = ts_ms < until
        if not in_time:
            until = (ts_ms // settle + 1) * settle if settle else ts_ms
        for window in (self.ofi, self.cvd, self.volume, self.agreement, self.passive,
                       self.trade_flow):
            window.truncate_after(start)
        self.quote = None                       # no OFI step across the gap
        self.depth = DepthFlow(self.cfg.depth_levels)
        self.last_depth_u = self.last_depth_ms = None
        self.depth_from_ms = until              # the depth book restarts empty there
        self.gap_until_ms = until
        return in_time

    def on_trade(self, ts_ms: int, qty: float, buyer_is_maker: bool) -> None:
        signed = signed_trade_qty(qty, buyer_is_maker)
        self.cvd.add(ts_ms, signed)
        self.trade_flow.add(ts_ms, signed)
        self.volume.add(ts_ms, qty)
        self.last_trade_ms = ts_ms
        self.evict(ts_ms)

    def passive_flow(self) -> float:
        """Depth flow net of the trades' own consumption of the top levels."""
        return self.passive.total - self.trade_flow.total

    def evict(self, now_ms: int) -> None:
        self.ofi.evict(now_ms)
        self.cvd.evict(now_ms)
        self.volume.evict(now_ms)
        self.agreement.evict(now_ms)
        self.passive.evict(now_ms)
        self.trade_flow.evict(now_ms)

    # ---- derived ------------------------------------------------------------------------
    def activity_per_s(self) -> float:
        return self.volume.total * 1000.0 / self.cfg.flow_window_ms

    def update_baseline(self, ts_ms: int) -> None:
        """EWMA of activity, one step per z-sample bucket (alpha from the half-life).

        It starts as the mean activity of the warmup buckets, and each step's input is capped
        at active_activity_ratio x the baseline, so one burst cannot inflate it (which would
        make the normal market after the burst look quiet for many minutes).
        """
        bucket = ts_ms // self.cfg.z_sample_ms
        if bucket == self.baseline_bucket:
            return
        self.baseline_bucket = bucket
        activity = self.activity_per_s()
        if self.activity_baseline is None:
            self.warmup_activity.append(activity)
            if len(self.warmup_activity) >= self.cfg.warmup_samples:
                self.activity_baseline = sum(self.warmup_activity) / len(self.warmup_activity)
                self.warmup_activity = []
            return
        if self.activity_baseline <= 0.0:          # no trades at all so far: start again
            self.activity_baseline = activity
            return
        capped = min(activity, self.cfg.active_activity_ratio * self.activity_baseline)
        alpha = 1.0 - 0.5 ** (self.cfg.z_sample_ms / 1000.0 / self.cfg.activity_halflife_s)
        self.activity_baseline += alpha * (capped - self.activity_baseline)

    def activity_ratio(self) -> float:
        base = self.activity_baseline
        if not base or base <= 0:
            return 1.0
        return self.activity_per_s() / base

    # ---- checkpoint ---------------------------------------------------------------------
    def to_state(self) -> dict:
        q = self.quote
        return {
            "quote": None if q is None else [q.bid_px, q.bid_qty, q.ask_px, q.ask_qty, q.ts_ms],
            "ofi": self.ofi.to_state(), "cvd": self.cvd.to_state(),
            "volume": self.volume.to_state(), "agreement": self.agreement.to_state(),
            "score_quantile": self.score_quantile.to_state(),
            "ofi_z": self.ofi_z.to_state(), "cvd_z": self.cvd_z.to_state(),
            "passive": self.passive.to_state(), "trade_flow": self.trade_flow.to_state(),
            "passive_z": self.passive_z.to_state(), "trade_flow_z": self.trade_flow_z.to_state(),
            "depth": self.depth.to_state(),
            "activity_baseline": self.activity_baseline, "baseline_bucket": self.baseline_bucket,
            "warmup_activity": self.warmup_activity,
            "last_agg_id": self.last_agg_id, "last_book_u": self.last_book_u,
            "last_depth_u": self.last_depth_u, "last_depth_ms": self.last_depth_ms,
            "depth_from_ms": self.depth_from_ms,
            "last_trade_ms": self.last_trade_ms, "gap_until_ms": self.gap_until_ms,
        }

    def load_state(self, state: dict) -> None:
        q = state["quote"]
        self.quote = None if q is None else Quote(q[0], q[1], q[2], q[3], int(q[4]))
        for name in STATE_PARTS:
            getattr(self, name).load_state(state[name])
        self.activity_baseline = state["activity_baseline"]
        self.baseline_bucket = state["baseline_bucket"]
        self.warmup_activity = [float(a) for a in state["warmup_activity"]]
        self.last_agg_id = state["last_agg_id"]
        self.last_book_u = state["last_book_u"]
        self.last_depth_u = state["last_depth_u"]
        self.last_depth_ms = state["last_depth_ms"]
        self.depth_from_ms = state["depth_from_ms"]
        self.last_trade_ms = state.get("last_trade_ms")     # absent in older checkpoints
        self.gap_until_ms = state.get("gap_until_ms")
