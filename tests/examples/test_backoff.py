"""The supervisor's restart backoff: 0.2 s doubling to 5 s, reset by a stable life."""

from examples.asyncio_pipeline.slots import RESTART_MAX_S, STABLE_AFTER_S, Backoff


def test_quick_deaths_double_the_delay_up_to_the_cap() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay(uptime_s=1.0) for _ in range(8)]
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, RESTART_MAX_S, RESTART_MAX_S, RESTART_MAX_S]


def test_a_stable_life_resets_the_delay() -> None:
    backoff = Backoff()
    assert [backoff.next_delay(1.0) for _ in range(3)] == [0.2, 0.4, 0.8]
    assert backoff.next_delay(STABLE_AFTER_S) == 0.2
    assert backoff.next_delay(STABLE_AFTER_S - 0.1) == 0.4
