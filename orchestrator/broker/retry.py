"""Resubmission with exponential backoff; safe because submit is idempotent per order id."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.broker.executor import (
    Execution,
    Executor,
    OrderIntent,
    Quote,
    TransientExecutorError,
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int               # broker.retry in config/defaults.yaml
    initial_delay_s: float
    factor: float
    max_delay_s: float

    def delays(self) -> list[float]:
        out, delay = [], self.initial_delay_s
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay_s))
            delay *= self.factor
        return out


def submit_with_retry(executor: Executor, order: OrderIntent, quote: Quote, policy: RetryPolicy,
                      sleep: Callable[[float], None] = time.sleep) -> tuple[Execution, int]:
    """(execution, retries used); re-raises the last TransientExecutorError when all fail."""
    delays = policy.delays()
    for retries in range(policy.attempts):
        try:
            return executor.submit(order, quote), retries
        except TransientExecutorError:
            if retries == len(delays):
                raise
            sleep(delays[retries])
    raise AssertionError("unreachable")
