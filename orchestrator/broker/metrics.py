"""Broker metrics: prometheus_client collectors in a per-stage registry, plus the totals
the manifest section and `metrics/broker.json` are built from."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS_MS = (5, 10, 20, 30, 50, 75, 100, 200, 500, 1000)


class BrokerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.submit = Counter("executor_submit", "Orders submitted to the executor",
                              ["symbol", "outcome"], registry=self.registry)
        self.throttle = Counter("executor_throttle", "Signals refused by the throttle",
                                ["symbol"], registry=self.registry)
        self.latency = Histogram("executor_latency_ms", "Submit-to-ack latency (ms)",
                                 ["symbol"], buckets=LATENCY_BUCKETS_MS, registry=self.registry)
        # Per process, like the Prometheus counters (they restart at 0 with the process).
        self.totals = {"signals_read": 0, "signals_eligible": 0, "submit_total": 0,
                       "throttle_total": 0, "retries": 0, "executor_errors": 0,
                       "duplicates_skipped": 0, "resumed_orders": 0}
        self._latencies: list[float] = []

    def on_submit(self, symbol: str, outcome: str, latency_ms: float | None) -> None:
        self.submit.labels(symbol=symbol, outcome=outcome).inc()
        self.totals["submit_total"] += 1
        if latency_ms is not None:
            self.latency.labels(symbol=symbol).observe(latency_ms)
            self._latencies.append(latency_ms)

    def on_reject(self, symbol: str, reason: str) -> None:
        if reason == "throttled":
            self.throttle.labels(symbol=symbol).inc()
            self.totals["throttle_total"] += 1

    def latency_summary(self) -> dict:
        values = sorted(self._latencies)
        if not values:
            return {"count": 0, "mean_ms": None, "p50_ms": None, "p99_ms": None, "max_ms": None}

        def pct(p: float) -> float:
            return values[min(len(values) - 1, int(p * len(values)))]

        return {"count": len(values), "mean_ms": round(sum(values) / len(values), 3),
                "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": values[-1]}

    def exposition(self) -> str:
        return generate_latest(self.registry).decode("utf-8")
