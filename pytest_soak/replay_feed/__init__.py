"""A fake Binance USDⓈ-M Futures exchange (WebSocket + REST + control API) and the seeded
recording generator. See docs/data-sources.md."""

from pytest_soak.replay_feed.feed import ReplayFeed, parse_speed
from pytest_soak.replay_feed.generator import MarketGenerator, generate_recording
from pytest_soak.replay_feed.recording import read_recording, write_recording

__all__ = ["ReplayFeed", "MarketGenerator", "generate_recording", "parse_speed",
           "read_recording", "write_recording"]
