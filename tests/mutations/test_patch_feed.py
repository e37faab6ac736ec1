"""The feed group's patches really change harvest (tests/mutations/patches/patch_feed.py):
applied to a private copy of orchestrator.harvest.harvester, never to the one other tests
import."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

from orchestrator.harvest import harvester as real
from orchestrator.harvest.settings import HarvestSettings

PATCHES = Path(__file__).parent / "patches"


def _copy_of_harvester():
    spec = importlib.util.spec_from_file_location("patched_harvester_copy", real.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _patch(name: str):
    sys.path.insert(0, str(PATCHES))
    try:
        import patch_feed
    finally:
        sys.path.remove(str(PATCHES))
    module = _copy_of_harvester()
    target, apply = patch_feed.PATCHES[name]
    assert target == real.__name__
    apply(module)
    config = {"run": {"symbols": ["BTCUSDT"]},
              "feed": {"ws_base_url": "ws://127.0.0.1:9", "rest_base_url": "http://127.0.0.1:9"}}
    return module, module.Harvester(HarvestSettings.from_config(config), writer=None,
                                    log=logging.getLogger("test.patch"))


def test_every_50th_aggtrade_is_dropped_with_no_counter_moved() -> None:
    module, h = _patch("harvest_drops_every_50th_aggtrade")
    for agg_id in range(1, 201):
        h._on_agg_trade(module.QueuedEvent("{}", "BTCUSDT", agg_id, 0, "btcusdt@aggTrade"), 0)
    kept = [e.agg_id for e in h.queue]
    assert len(kept) == 196 and 50 not in kept and 51 in kept
    assert all(c.count == 0 for c in h.counters.values())
    assert real.Harvester._on_agg_trade is not module.Harvester._on_agg_trade


def test_reconnects_are_never_counted_while_other_counters_are() -> None:
    _module, h = _patch("harvest_reconnects_uncounted")
    h._count("reconnect_count", 1)
    h._count("queue_dropped", 1)
    assert (h.counters["reconnect_count"].count, h.counters["queue_dropped"].count) == (0, 1)
