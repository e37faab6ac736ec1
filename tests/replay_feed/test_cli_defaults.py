"""`python -m pytest_soak.replay_feed` takes its defaults from ReplayFeed (one owner)."""

from __future__ import annotations

import inspect

from pytest_soak.replay_feed.__main__ import parse_args
from pytest_soak.replay_feed.feed import ReplayFeed
from pytest_soak.replay_feed.generator import MarketGenerator, generate_recording


def test_every_cli_default_is_the_feeds() -> None:
    args = vars(parse_args(["--generate", "1"]))
    feed = {name: p.default for name, p in inspect.signature(ReplayFeed).parameters.items()}
    shared = sorted(set(args) & set(feed) - {"recording", "minutes", "schedule"})
    assert shared == ["host", "http_port", "live", "loop", "ping_interval_s", "port", "profile",
                      "regime", "sent_log", "speed", "start_grace_s", "start_on", "symbols"]
    assert {k: args[k] for k in shared} == {k: feed[k] for k in shared}


def test_the_feed_and_the_recording_writer_generate_what_the_generator_does() -> None:
    feed = inspect.signature(ReplayFeed).parameters
    gen = inspect.signature(MarketGenerator).parameters
    assert feed["symbols"].default == gen["symbols"].default
    assert feed["regime"].default == gen["regime"].default
    assert feed["profile"].default == gen["profile"].default
    assert inspect.signature(generate_recording).parameters["profile"].default == \
        gen["profile"].default
    assert inspect.signature(generate_recording).parameters["symbols"].default == \
        gen["symbols"].default
