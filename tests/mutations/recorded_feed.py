"""Recorded mutations of harvest's claims against the replay feed's own account (D7) and of
aggTrade ids the feed delivered that never reached the handoff (D9 "no event lost").

The good run (tests/soak_checks/factory.py): the drop at market second 60 closes harvest's
two connections (the feed's account: connections 1-2 closed by `drop`, 3-4 opened after);
harvest reports 2 reconnects and events_in = every frame the feed sent; every aggTrade id the
feed delivered (BTCUSDT 1-500, ETHUSDT 7-306, id i at market second i) is in handoff/market.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.soak_checks.factory import counter, feed_connection, rewrite, wall

from .catalogue import Mutation

OBS, MAN = "harness_observations.json", "run_manifest.json"
MARKET = "handoff/market/00000001.jsonl"
LOST = range(100, 120)                 # BTCUSDT ids delivered at market s 100-119


def _feed_closes(*seconds: float):
    """The feed saw harvest's connections close (by harvest) at these market seconds."""
    def change(doc: dict) -> None:
        conns = doc["feed"]["stats"]["connections"]
        conns.extend(feed_connection(20 + i, "market", s - 5, s, "client", {}, 0)
                     for i, s in enumerate(seconds))
    return change


def hidden_reconnects(run: Path) -> None:
    """harvest reports the drop's 2 reconnects (the declared effect) while the feed saw 3 more,
    mid-run, outside every window (few enough that the stray count alone would pass)."""
    rewrite(run, OBS, _feed_closes(440, 460, 480))


def reconnect_times_moved_into_the_drop(run: Path) -> None:
    """4 re-connections at market s 430-433 (the feed's times; after the pause's toleration)
    that harvest reports with the drop's timestamps, so its own times look induced."""
    rewrite(run, OBS, _feed_closes(430, 431, 432, 433))
    rewrite(run, MAN, lambda doc: doc["harvester_metrics"].update(
        reconnect_count=counter(*[wall(60) + 100 * i for i in range(6)])))


def reconnects_at_a_signal_kill(run: Path) -> None:
    """harvest's connections drop at the kill of *signal* (market s 180): a kill of any stage
    no longer excuses reconnects, only one of harvest. Reported honestly."""
    rewrite(run, OBS, _feed_closes(180, 180.5, 181, 181.5))
    rewrite(run, MAN, lambda doc: doc["harvester_metrics"].update(
        reconnect_count=counter(wall(61), wall(62), *[wall(180 + i / 2) for i in range(4)])))


def _events_in(count: int):
    return lambda doc: doc["harvester_metrics"]["events_in"].update(count=count)


def under_counted_frames(run: Path) -> None:
    """harvest counts (honestly) the 700 frames its reader kept; the feed sent it 900."""
    rewrite(run, MAN, _events_in(700))


def over_counted_frames(run: Path) -> None:
    """harvest counts every frame twice: more than the feed ever sent it."""
    rewrite(run, MAN, _events_in(1800))


def no_feed_account(run: Path) -> None:
    """The feed's account could not be read at the end of the run."""
    rewrite(run, OBS, lambda doc: doc["feed"].update(stats=None,
                                                     stats_error="ConnectionError: refused"))


def _drop_from_handoff(run: Path, symbol: str, ids: range) -> None:
    path = run / MARKET
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if not (json.loads(line)["data"]["s"] == symbol
                    and json.loads(line)["data"]["a"] in ids)]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def _claim_count(doc: dict, section: str, count: int) -> None:
    doc[section]["aggtrade_ids"]["BTCUSDT"]["count"] = count


def silently_lost_ids(run: Path) -> None:
    """20 aggTrades delivered mid-run never reach the handoff; harvest's and signal's id claims
    agree with the handoff (500 - 20), so their own reconciliation sees nothing lost."""
    _drop_from_handoff(run, "BTCUSDT", LOST)
    rewrite(run, MAN, lambda doc: (_claim_count(doc, "harvester_metrics", 480),
                                   _claim_count(doc, "signal_metrics", 480)))


def honestly_counted_loss(run: Path) -> None:
    """The same 20 ids lost, and harvest counts each as queue_dropped when it happened (outside
    any window tolerating queue pressure): counting a loss does not excuse it."""
    silently_lost_ids(run)
    rewrite(run, MAN, lambda doc: doc["harvester_metrics"].update(
        queue_dropped=counter(wall(600), *[wall(i) for i in LOST])))


def no_delivered_ids(run: Path) -> None:
    """The feed's account holds connections but no aggTrade ids: nothing to reconcile."""
    def change(doc: dict) -> None:
        for conn in doc["feed"]["stats"]["connections"]:
            conn["aggtrade_ranges"] = {}
    rewrite(run, OBS, change)


def _r(name: str, apply, *fails: tuple[str, str], disguise: str, hole: str,
       unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=hole, apply=apply,
                    unknown_ok=unknown_ok)


D7_FEED, LOST_HOLE = "D7 feed counts", "no event lost"
MUTATIONS = [
    _r("harvest under-reports reconnects the feed saw", hidden_reconnects,
       ("D7", "reconnects seen by the feed"), disguise="declared", hole=D7_FEED),
    _r("harvest times its reconnects into the drop's window",
       reconnect_times_moved_into_the_drop, ("D7", "reconnect_count"),
       disguise="declared", hole=D7_FEED),
    _r("harvest reconnects at a kill of signal", reconnects_at_a_signal_kill,
       ("D7", "reconnect_count"), disguise="wrong", hole=D7_FEED),
    _r("harvest counts fewer frames than the feed sent", under_counted_frames,
       ("D7", "frames delivered vs events_in"), disguise="wrong", hole=D7_FEED),
    _r("harvest counts frames the feed never sent", over_counted_frames,
       ("D7", "frames delivered vs events_in"), disguise="wrong", hole=D7_FEED),
    _r("the feed's account is missing", no_feed_account,
       ("D7", "reconnects seen by the feed"), ("D7", "frames delivered vs events_in"),
       ("D9", "no event lost"), disguise="absent", hole=D7_FEED, unknown_ok=True),
    _r("aggTrades lost while harvest's id claims agree with the handoff", silently_lost_ids,
       ("D9", "no event lost"), disguise="declared", hole=LOST_HOLE),
    _r("aggTrades lost and honestly counted as queue drops", honestly_counted_loss,
       ("D9", "no event lost"), ("D7", "queue_dropped"), disguise="wrong", hole=LOST_HOLE),
    _r("the feed's account holds no delivered ids", no_delivered_ids,
       ("D9", "no event lost"), disguise="absent", hole=LOST_HOLE, unknown_ok=True),
]
