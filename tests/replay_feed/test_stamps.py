"""Stamps: a burst packs the source into event time as a function of the source alone."""

import pytest

from pytest_soak.replay_feed.stamps import Stamps


def stamped(sources: list[int], burst_at: int, burst_end: int, factor: float) -> list[int]:
    stamps, out = Stamps(), []
    stamps.start(1_000)
    for i, source in enumerate(sources):
        out.append(stamps.stamp(source))
        if i == burst_at:
            stamps.set_factor(factor)
        if i == burst_end:
            stamps.set_factor(1)
    return out


def test_a_burst_packs_factor_source_ms_into_each_event_ms_and_continues_after_it():
    sources = list(range(0, 10_000, 100))            # one event per 100 source ms
    out = stamped(sources, burst_at=9, burst_end=49, factor=4)
    assert out[:10] == [s + 1_000 for s in sources[:10]]
    inside = out[10:50]
    assert inside[0] == 2_000 and all(b - a == 25 for a, b in zip(inside, inside[1:], strict=False))
    after = out[50:]
    assert after[0] - inside[-1] == 100                # the offset took up what was packed
    assert all(b - a == 100 for a, b in zip(after, after[1:], strict=False))


def test_the_same_source_and_plan_give_the_same_stamps_and_they_never_go_back():
    sources = [0, 5, 5, 7, 130, 131, 400, 401, 402, 900]
    first = stamped(sources, burst_at=2, burst_end=6, factor=7.5)
    assert first == stamped(sources, burst_at=2, burst_end=6, factor=7.5)
    assert first == sorted(first)


def test_a_factor_must_be_positive():
    with pytest.raises(ValueError, match="> 0"):
        Stamps().set_factor(0)
