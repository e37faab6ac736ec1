"""The signal computation: market handoff records in, signal records out (no I/O).

One evaluation per aggTrade (cadence = the trade rate, so a market with no trades emits no
signals). Quotes (bookTicker) feed OFI; depth diffs are counted only. Every event is applied
at most once: per symbol the last aggTrade id and bookTicker update id are part of the
checkpointed state, so events re-read after a restart are skipped, not double-counted.
"""

from __future__ import annotations

import logging
from typing import Any

from orchestrator.id_ranges import AggTradeIds
from orchestrator.signal.config import SignalConfig
from orchestrator.signal.features import Quote, SymbolFeatures
from orchestrator.signal.gating import (
    GATING_REASONS,
    agreement,
    classify_regime,
    decide,
    gate,
    spread_bps,
)

log = logging.getLogger(__name__)
STATE_VERSION = 3             # bump whenever the checkpoint layout changes


def row_id_for(symbol: str, agg_id: int) -> str:
    """Deterministic: one signal per aggTrade, so the trade's id names the row."""
    return f"{symbol}-{agg_id}"


def _chained(data: dict, last_u: int | None) -> bool:
    """Does this diff continue the chain? USDⓈ-M diffs carry `pu` (the previous diff's `u`);
    a diff without it (the spot layout) continues when U = last u + 1."""
    if last_u is None:
        return True
    if "pu" in data:
        return int(data["pu"]) == last_u
    return int(data["U"]) == last_u + 1


class SignalEngine:
    def __init__(self, cfg: SignalConfig, mode: str = "replay") -> None:
        self.cfg = cfg
        self.mode = mode
        self.symbols: dict[str, SymbolFeatures] = {}
        self._ids = AggTradeIds()
        self.counters: dict[str, int] = {
            "aggTrade": 0, "bookTicker": 0, "depthUpdate": 0, "other": 0,
            "malformed": 0, "replayed_skipped": 0, "signals": 0,
            "depth_breaks": 0, "depth_slow_resyncs": 0, "depth_settling_skipped": 0,
            "trade_gaps": 0, "trade_slow_gaps": 0, "gap_skipped": 0}
        self.gating_counts: dict[str, int] = dict.fromkeys(GATING_REASONS, 0)
        self.last_event_ms: int | None = None
        self.last_signal: dict[str, dict] = {}

    def features(self, symbol: str) -> SymbolFeatures:
        feats = self.symbols.get(symbol)
        if feats is None:
            feats = self.symbols[symbol] = SymbolFeatures(self.cfg)
        return feats

    # ---- input --------------------------------------------------------------------------
    def process(self, record: Any) -> dict | None:
        """Apply one market record; the signal record it produced, or None."""
        try:
            data = record["data"]
            kind = data["e"]
            if kind == "aggTrade":
                return self._on_agg_trade(data)
            if kind == "bookTicker":
                self._on_book_ticker(data)
            elif kind == "depthUpdate":
                self._on_depth(data)
            else:
                self.counters["other"] += 1
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._malformed(record, exc)
        return None

    def _malformed(self, record: Any, exc: Exception) -> None:
        self.counters["malformed"] += 1
        if self.counters["malformed"] == 1:
            log.warning("malformed market record skipped (%s: %s); sample: %.300r "
                        "(further ones are only counted)", type(exc).__name__, exc, record)

    def _seen(self, ts_ms: int) -> None:
        if self.last_event_ms is None or ts_ms > self.last_event_ms:
            self.last_event_ms = ts_ms

    def _on_book_ticker(self, data: dict) -> None:
        feats = self.features(data["s"])
        update_id = int(data["u"])
        ts_ms = int(data.get("T") or data["E"])
        quote = Quote(float(data["b"]), float(data["B"]), float(data["a"]), float(data["A"]), ts_ms)
        if feats.last_book_u is not None and update_id <= feats.last_book_u:
            self.counters["replayed_skipped"] += 1
            return
        feats.last_book_u = update_id
        self.counters["bookTicker"] += 1
        if self._skipped_in_gap(feats, ts_ms):
            return
        self._seen(ts_ms)
        feats.note_event(ts_ms)
        feats.on_quote(quote)

    def _on_depth(self, data: dict) -> None:
        feats = self.features(data["s"])
        update_id = int(data["u"])
        ts_ms = int(data.get("T") or data["E"])
        bids, asks = data["b"], data["a"]
        if not isinstance(bids, list) or not isinstance(asks, list):
            raise TypeError("depthUpdate fields b and a must be lists")
        if feats.last_depth_u is not None and update_id <= feats.last_depth_u:
            self.counters["replayed_skipped"] += 1
            return
        self.counters["depthUpdate"] += 1
        self._seen(ts_ms)
        if self._skipped_in_gap(feats, ts_ms):
            return
        status = feats.on_depth(ts_ms, update_id, _chained(data, feats.last_depth_u), bids, asks)
        if status in ("break", "slow_resync"):
            self.counters["depth_breaks"] += 1
        if status == "slow_resync":
            self.counters["depth_slow_resyncs"] += 1
            if self.counters["depth_slow_resyncs"] == 1:
                log.warning("%s: the first depth diff after a break came more than "
                            "depth_settle_ms (%d) after the last one before it (an outage or a "
                            "slow resync): depth flow restarts at the next multiple of it, "
                            "which may depend on when harvest resynced (further ones are only "
                            "counted)", data["s"], self.cfg.depth_settle_ms)
        if status in ("break", "settling") or (status == "slow_resync"
                                                and self.cfg.depth_settle_ms > 0):
            self.counters["depth_settling_skipped"] += 1

    def _on_agg_trade(self, data: dict) -> dict | None:
        symbol = data["s"]
        agg_id = int(data["a"])
        ts_ms = int(data["T"])
        price, qty, maker = float(data["p"]), float(data["q"]), data["m"]
        if not isinstance(maker, bool):
            raise TypeError(f"aggTrade field m must be a boolean, got {maker!r}")
        feats = self.features(symbol)
        if feats.last_agg_id is not None and agg_id <= feats.last_agg_id:
            self.counters["replayed_skipped"] += 1
            return None
        gap = feats.last_agg_id is not None and agg_id != feats.last_agg_id + 1
        feats.last_agg_id = agg_id
        self.counters["aggTrade"] += 1
        self._ids.add(symbol, agg_id)
        self._seen(ts_ms)
        if gap:
            self._on_trade_gap(symbol, feats, ts_ms)
        if self._skipped_in_gap(feats, ts_ms):
            return None
        feats.note_event(ts_ms)
        feats.on_trade(ts_ms, qty, maker)
        return self._evaluate(symbol, feats, ts_ms, agg_id, price)

    def _on_trade_gap(self, symbol: str, feats: SymbolFeatures, ts_ms: int) -> None:
        self.counters["trade_gaps"] += 1
        if not feats.trade_gap(ts_ms):
            self.counters["trade_slow_gaps"] += 1
            if self.counters["trade_slow_gaps"] == 1:
                log.warning("%s: the first trade after a gap in the aggTrade ids came more than "
                            "trade_gap_settle_ms (%d) after the last one before it: the skip "
                            "ends on the settle grid after it (further ones are only counted)",
                            symbol, self.cfg.trade_gap_settle_ms)

    def _skipped_in_gap(self, feats: SymbolFeatures, ts_ms: int) -> bool:
        if not feats.in_gap(ts_ms):
            return False
        self.counters["gap_skipped"] += 1
        return True

    @property
    def aggtrade_ids(self) -> dict[str, dict[str, int]]:
        """Per symbol, first/last/count of the aggTrade ids consumed (each counted once)."""
        return self._ids.ids

    # ---- evaluation ---------------------------------------------------------------------
    def _evaluate(self, symbol: str, feats: SymbolFeatures, ts_ms: int, agg_id: int,
                  price: float) -> dict:
        cfg = self.cfg
        ofi, cvd = feats.ofi.total, feats.cvd.total
        warm = min(len(feats.ofi_z), len(feats.cvd_z)) >= cfg.warmup_samples
        ofi_z = feats.ofi_z.z(ofi, cfg.z_clip)
        cvd_z = feats.cvd_z.z(cvd, cfg.z_clip)
        passive, trade_flow = feats.passive_flow(), feats.trade_flow.total
        passive_z = feats.passive_z.scaled(passive, cfg.z_clip)
        trade_flow_z = feats.trade_flow_z.scaled(trade_flow, cfg.z_clip)
        for rolling, value in ((feats.ofi_z, ofi), (feats.cvd_z, cvd),
                               (feats.passive_z, passive), (feats.trade_flow_z, trade_flow)):
            rolling.observe(ts_ms, value)
        feats.update_baseline(ts_ms)
        feats.agreement.add(ts_ms, agreement(passive_z, trade_flow_z))
        consistency = min(1.0, max(0.0, feats.agreement.mean()))
        quote = feats.quote
        quote_age = None if quote is None else max(0, ts_ms - quote.ts_ms)
        bid, ask = (quote.bid_px, quote.ask_px) if quote else (0.0, 0.0)
        spread = spread_bps(bid, ask) if quote and ask > bid > 0 else None
        score = cfg.ofi_weight * ofi_z + (1.0 - cfg.ofi_weight) * cvd_z
        regime = classify_regime(warm, feats.activity_ratio(), consistency, cfg)
        gating = gate(warm=warm, quote_age_ms=quote_age, bid_px=bid, ask_px=ask,
                      regime=regime, consistency=consistency, cfg=cfg)
        feats.score_quantile.add(ts_ms, abs(score))
        confirm, strong = decide(gating, score, regime, feats.score_quantile.value(), cfg)
        self.counters["signals"] += 1
        self.gating_counts[gating] += 1
        row = {
            "row_id": row_id_for(symbol, agg_id), "ts_ms": ts_ms, "symbol": symbol,
            "agg_id": agg_id, "price": price, "mid_px": (bid + ask) / 2.0 if quote else None,
            "spread_bps": spread, "ofi": ofi, "cvd": cvd, "ofi_z": ofi_z, "cvd_z": cvd_z,
            "score": score, "side": "buy" if score > 0 else "sell" if score < 0 else "flat",
            "consistency": consistency, "confirm": confirm, "strong": strong,
            "gating": gating, "regime": regime,
        }
        self.last_signal[symbol] = row
        return row

    # ---- state --------------------------------------------------------------------------
    def runtime_state(self) -> dict:
        """Mode, warmup state and the last z-scores per symbol (for the report stage)."""
        symbols = {}
        for symbol, feats in sorted(self.symbols.items()):
            last = self.last_signal.get(symbol) or {}
            samples = min(len(feats.ofi_z), len(feats.cvd_z))
            symbols[symbol] = {
                "warmup": samples < self.cfg.warmup_samples,
                "warmup_samples": samples, "warmup_required": self.cfg.warmup_samples,
                "last_ts_ms": last.get("ts_ms"), "ofi_z": last.get("ofi_z"),
                "cvd_z": last.get("cvd_z"), "score": last.get("score"),
                "consistency": last.get("consistency"), "regime": last.get("regime"),
                "gating": last.get("gating"),
            }
        return {"mode": self.mode, "last_event_ms": self.last_event_ms, "symbols": symbols}

    def to_state(self) -> dict:
        return {
            "version": STATE_VERSION,
            "symbols": {s: f.to_state() for s, f in self.symbols.items()},
            "aggtrade_ids": self.aggtrade_ids, "counters": self.counters,
            "gating_counts": self.gating_counts, "last_event_ms": self.last_event_ms,
            "last_signal": self.last_signal,
        }

    def load_state(self, state: dict) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"signal checkpoint version {state.get('version')!r} "
                             f"is not {STATE_VERSION}")
        for symbol, feats_state in state["symbols"].items():
            self.features(symbol).load_state(feats_state)
        self._ids = AggTradeIds(state["aggtrade_ids"])
        self.counters.update(state["counters"])
        self.gating_counts.update(state["gating_counts"])
        self.last_event_ms = state["last_event_ms"]
        self.last_signal = state["last_signal"]
