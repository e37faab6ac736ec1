"""Market time follows the real replay feed (a burst leaves its pace); the pipeline spec renders."""

from __future__ import annotations

import time

import pytest

from pytest_soak.market_clock import MarketClock
from pytest_soak.market_source import stream_limit
from pytest_soak.pipeline_spec import load_pipeline_spec, render_tree
from pytest_soak.settings import SoakUsageError
from pytest_soak.sidecars import FeedSidecar
from pytest_soak_evidence.carried import CHECKOUT_ROOT

REFERENCE = CHECKOUT_ROOT / "fixtures" / "soak" / "reference_pipeline.yaml"


@pytest.fixture
def feed(tmp_path):  # noqa: ANN001, ANN201
    sidecar = FeedSidecar(tmp_path, speed=30, seed=3, symbols=["BTCUSDT"], live=False,
                          start_on="now")
    sidecar.start()
    yield sidecar
    sidecar.stop()
    assert sidecar.proc.poll() is not None


def test_market_time_tracks_the_feed_and_never_runs_ahead_of_it(feed) -> None:  # noqa: ANN001
    clock = MarketClock(30, feed)
    feed.on_control = clock.invalidate
    clock.start()
    started = time.monotonic()
    time.sleep(0.5)
    assert 10 <= clock.market_s() <= 60          # 0.5 s at 30x = 15 market s (+ load delays)
    feed.control("burst", "start", {"factor": 50, "duration_ms": 100})
    seen = []
    for _ in range(20):
        seen.append(clock.market_s())
        feed_s = (feed.state()["market_ms"] - clock.start_event_ms) / 1000
        assert seen[-1] <= feed_s + 1.0                     # never ahead of the feed
        time.sleep(0.03)
    assert seen == sorted(seen)                             # never goes back
    # a burst packs more events into each market second; the clock keeps the soak's pace
    assert seen[-1] <= 30 * (time.monotonic() - started) + 1.0


def test_the_reference_spec_renders_typed_values_and_names_bad_placeholders(tmp_path) -> None:  # noqa: ANN001
    spec = load_pipeline_spec(REFERENCE)
    values = {"python": "py", "spec_dir": "/r", "config": "/c.yaml", "run_dir": "/d", "run_id": "x",
              "sink": "dual", "minutes": "60", "pipeline_minutes": "62", "health_port": "0",
              "mode": "replay", "speed": 30.0, "replay_flag": "1", "replay_mode_bool": True,
              "timeseries_type": "none", "timeseries_url": None, "timeseries_api": None,
              "timeseries_token": None, "feed_ws_url": "ws://f",
              "feed_rest_url": "http://f", "feed_control_url": "http://f",
              "market_stream_limit_per_s": stream_limit(None)}
    command = spec.render_command(values)
    assert command[:3] == ["py", "-m", "orchestrator.run"] and "62" in command
    config = spec.render_config(values)
    assert config["run"]["replay_mode"] is True
    assert config["timeseries"]["url"] == ""           # no store: the base value stays
    assert config["feed"]["ws_base_url"] == "ws://f"
    assert config["supervisor"]["shutdown_order"] == ["report", "broker", "signal", "harvest"]
    # market-time durations in wall terms at 30x (scaled down); the per-stream rate limit is
    # the generated market's, in event time (30 per market second at any speed)
    assert config["harvest"]["stream_rate_limit_per_s"] == pytest.approx(30)
    assert config["harvest"]["substream_silence_s"] == pytest.approx(60 / 30.0)
    assert config["timeseries"]["backoff_max_s"] == pytest.approx(15 / 30.0)
    with pytest.raises(SoakUsageError, match=r"unknown placeholder\(s\) \['nope'\]"):
        render_tree({"a": "x{nope}"}, values, tmp_path / "s.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("command: []\nstages: [a]\n")
    with pytest.raises(SoakUsageError, match="'command' must be a non-empty list"):
        load_pipeline_spec(bad)


def test_a_spec_that_names_only_command_and_stages_gets_pipeline_specs_defaults(tmp_path):  # noqa: ANN001
    from pytest_soak.pipeline_spec import PipelineSpec

    minimal = tmp_path / "minimal.yaml"
    minimal.write_text("command: [run]\nstages: [a]\n")
    spec = load_pipeline_spec(minimal)
    reference = PipelineSpec(name="x", command=["run"], stages=["a"], source=minimal)
    assert (spec.stage_regex, spec.self_stop_margin_min, spec.alerts_from) == (
        reference.stage_regex, reference.self_stop_margin_min, reference.alerts_from)
