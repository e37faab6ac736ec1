"""Restart policy bookkeeping: backoff, cap, reset after a stable period, burst limit."""

from __future__ import annotations

from orchestrator.restart import RestartPolicy, RestartTracker

POLICY = RestartPolicy(initial_delay_s=0.5, factor=2.0, max_delay_s=3.0, stable_after_s=30,
                       max_restarts=5, window_s=100)


def test_delays_grow_by_the_factor_up_to_the_cap() -> None:
    tracker = RestartTracker(POLICY)
    delays = [tracker.on_failure(now=i, uptime_s=1) for i in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert tracker.restart_count == 5
    assert tracker.delays_s == delays


def test_a_stable_period_resets_the_delay() -> None:
    tracker = RestartTracker(POLICY)
    assert tracker.on_failure(now=0, uptime_s=1) == 0.5
    assert tracker.on_failure(now=1, uptime_s=1) == 1.0
    assert tracker.on_failure(now=50, uptime_s=45) == 0.5


def test_burst_limit_gives_up_instead_of_spinning() -> None:
    tracker = RestartTracker(POLICY)
    for i in range(5):
        assert tracker.on_failure(now=i, uptime_s=0.1) is not None
    assert tracker.on_failure(now=6, uptime_s=0.1) is None
    assert tracker.gave_up
    assert tracker.restart_count == 5


def test_restarts_older_than_the_window_do_not_count() -> None:
    tracker = RestartTracker(POLICY)
    for i in range(5):
        tracker.on_failure(now=i, uptime_s=0.1)
    assert tracker.on_failure(now=200, uptime_s=0.1) is not None
    assert not tracker.gave_up
