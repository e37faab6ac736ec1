"""The live progress line: what it shows, in place on a terminal, plain periodic lines in CI."""

from __future__ import annotations

import io
import time

from pytest_soak.progress import Progress, ProgressSnapshot, Rates, format_line, is_interactive


def snap(**kw) -> ProgressSnapshot:  # noqa: ANN003
    base = dict(market_s=750, total_market_s=3600, wall_s=25, speed=30, events_per_min=5210,
                signals_per_min=95, stages={"harvest": True, "signal": False, "broker": None},
                faults=["feed-pause"], alerts=["no_data"])
    base.update(kw)
    return ProgressSnapshot(**base)


def test_the_line_shows_time_rates_health_fault_and_alerts() -> None:
    line = format_line(snap())
    assert line.startswith("soak running 12:30/60:00 mkt (25s wall, 1m35s left)")
    assert "5210 ev/min 95 sig/min" in line
    assert "harvest ok signal DOWN broker ?" in line
    assert "fault: feed-pause" in line and "alerts: no_data" in line
    quiet = format_line(snap(faults=[], alerts=[], events_per_min=None))
    assert "fault: -" in quiet and "alerts: -" in quiet and "? ev/min" in quiet


def test_live_mode_shows_hours() -> None:
    line = format_line(snap(market_s=600, wall_s=600, speed=1))
    assert "(10m00s wall, 50m00s left)" in line


def test_not_a_terminal_gets_plain_periodic_lines() -> None:
    out = io.StringIO()
    assert not is_interactive(out)
    progress = Progress(snap, interval_s=0.05, stream=out)
    progress.start()
    time.sleep(0.3)
    progress.stop(snap(faults=[]))
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("soak running") for line in lines)
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    out = io.StringIO()
    progress = Progress(snap, interval_s=60, stream=out, interactive=True, tty_refresh_s=0.05)
    progress.start()
    time.sleep(0.3)
    progress.stop()
    text = out.getvalue()
    assert text.count("\r\x1b[2K") >= 3 and text.endswith("\n") and text.count("\n") == 1


def test_ci_environment_is_never_interactive(monkeypatch) -> None:  # noqa: ANN001
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True
    monkeypatch.delenv("CI", raising=False)
    assert is_interactive(Tty())
    monkeypatch.setenv("CI", "true")
    assert not is_interactive(Tty())


def test_a_failing_snapshot_never_kills_the_run() -> None:
    out = io.StringIO()
    progress = Progress(lambda: 1 / 0, interval_s=0.05, stream=out)
    progress.start()
    time.sleep(0.2)
    progress.stop()
    assert "soak progress unavailable" in out.getvalue()


def test_rates_are_per_market_minute_over_a_sliding_window() -> None:
    rates = Rates(window_market_s=60)
    assert rates.per_min() is None
    for second in range(0, 181, 10):
        rates.add(second, second * 2)          # 2 events per market second
    assert rates.per_min() == 120
    rates.add(190, None)                       # a missing counter changes nothing
    assert rates.per_min() == 120
